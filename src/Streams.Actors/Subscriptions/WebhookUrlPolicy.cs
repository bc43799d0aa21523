using System.Net;
using System.Net.Sockets;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Where webhooks may be delivered, against server-side request forgery. Refused always:
/// link-local (169.254/16, fe80::/10, which holds the cloud metadata address 169.254.169.254),
/// other metadata addresses (fd00:ec2::254), unspecified, multicast and broadcast addresses, and
/// schemes other than http/https. Refused unless private webhooks are allowed: loopback
/// (127/8, ::1), private ranges (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7 unique
/// local). Plain http is accepted only for a loopback receiver (a developer's machine, the
/// conformance suite); any other receiver must use https, since the delivery carries a callback
/// token. Names are resolved and every address they resolve to must pass; the delivery connects
/// only to an address that passes again (<see cref="WebhookDelivery"/>), so DNS rebinding between
/// the check and the delivery does not help.
/// </summary>
public sealed class WebhookUrlPolicy(bool allowPrivate)
{
    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");

    public bool AllowPrivate => allowPrivate;

    /// <summary>Null when <paramref name="rawUrl"/> may receive webhooks, otherwise why not.</summary>
    public async Task<string?> CheckAsync(string rawUrl, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(rawUrl, UriKind.Absolute, out var url))
        {
            return "webhook.url must be an absolute URL";
        }

        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            return "webhook.url must use https (or http for a loopback receiver)";
        }

        if (url.UserInfo.Length > 0)
        {
            return "webhook.url must not carry credentials";
        }

        IPAddress[] addresses;
        if (IPAddress.TryParse(url.IdnHost, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(url.IdnHost, cancellationToken);
            }
            catch (SocketException exception)
            {
                return $"webhook.url host '{url.Host}' could not be resolved ({exception.SocketErrorCode})";
            }
        }

        if (addresses.Length == 0)
        {
            return $"webhook.url host '{url.Host}' resolves to no address";
        }

        foreach (var address in addresses)
        {
            if (AddressProblem(address) is { } problem)
            {
                return $"webhook.url host '{url.Host}' resolves to {address}: {problem}";
            }
        }

        if (url.Scheme == Uri.UriSchemeHttp && !addresses.All(IPAddress.IsLoopback))
        {
            return "plain http is accepted only for a loopback receiver; use https";
        }

        return null;
    }

    /// <summary>Null when a delivery may connect to <paramref name="address"/>, otherwise why not.</summary>
    public string? AddressProblem(IPAddress address)
    {
        var kind = Classify(address);
        return kind switch
        {
            AddressKind.Public => null,
            AddressKind.Loopback or AddressKind.Private when allowPrivate => null,
            AddressKind.Loopback => "a loopback address (allowed only with --allow-private-webhooks)",
            AddressKind.Private => "a private address (allowed only with --allow-private-webhooks)",
            AddressKind.LinkLocalOrMetadata => "a link-local or cloud metadata address",
            _ => "not a unicast address",
        };
    }

    public static AddressKind Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return AddressKind.Loopback;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var bytes = address.GetAddressBytes();
            return (bytes[0], bytes[1]) switch
            {
                (0, _) => AddressKind.NotUnicast,
                (169, 254) => AddressKind.LinkLocalOrMetadata,
                (10, _) => AddressKind.Private,
                (172, >= 16 and <= 31) => AddressKind.Private,
                (192, 168) => AddressKind.Private,
                (100, >= 64 and <= 127) => AddressKind.Private,
                (>= 224, _) => AddressKind.NotUnicast,
                _ => AddressKind.Public,
            };
        }

        if (address.Equals(IPAddress.IPv6Any) || address.IsIPv6Multicast)
        {
            return AddressKind.NotUnicast;
        }

        if (address.IsIPv6LinkLocal || address.Equals(AwsMetadataV6))
        {
            return AddressKind.LinkLocalOrMetadata;
        }

        var v6 = address.GetAddressBytes();
        // fc00::/7: unique local addresses, IPv6's private ranges; fec0::/10 site-local (deprecated) too.
        if ((v6[0] & 0xFE) == 0xFC || address.IsIPv6SiteLocal)
        {
            return AddressKind.Private;
        }

        return AddressKind.Public;
    }
}

public enum AddressKind
{
    Public,
    Loopback,
    Private,
    LinkLocalOrMetadata,
    NotUnicast,
}
