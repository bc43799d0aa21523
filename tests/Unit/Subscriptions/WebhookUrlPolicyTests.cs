using System.Net;
using Streams.Actors.Subscriptions;
using Xunit;

namespace Streams.Tests.Unit.Subscriptions;

public sealed class WebhookUrlPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", AddressKind.Loopback)]
    [InlineData("::1", AddressKind.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressKind.Loopback)]
    [InlineData("10.0.0.1", AddressKind.Private)]
    [InlineData("172.16.5.4", AddressKind.Private)]
    [InlineData("192.168.1.1", AddressKind.Private)]
    [InlineData("100.64.0.1", AddressKind.Private)]
    [InlineData("fd12:3456::1", AddressKind.Private)]
    [InlineData("169.254.169.254", AddressKind.LinkLocalOrMetadata)]
    [InlineData("::ffff:169.254.169.254", AddressKind.LinkLocalOrMetadata)]
    [InlineData("fe80::1", AddressKind.LinkLocalOrMetadata)]
    [InlineData("fd00:ec2::254", AddressKind.LinkLocalOrMetadata)]
    [InlineData("0.0.0.0", AddressKind.NotUnicast)]
    [InlineData("224.0.0.1", AddressKind.NotUnicast)]
    [InlineData("93.184.216.34", AddressKind.Public)]
    [InlineData("2606:4700::1111", AddressKind.Public)]
    public void Should_classify_addresses_by_where_a_request_to_them_would_go(string address, AddressKind expected) =>
        Assert.Equal(expected, WebhookUrlPolicy.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("https://10.1.2.3/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://[::1]/hook")]
    [InlineData("ftp://example.com/hook")]
    [InlineData("not a url")]
    [InlineData("https://user:secret@93.184.216.34/hook")]
    public async Task Should_refuse_loopback_private_metadata_and_odd_urls_by_default(string url) =>
        Assert.NotNull(await new WebhookUrlPolicy(allowPrivate: false).CheckAsync(url, CancellationToken.None));

    [Fact]
    public async Task Should_refuse_a_name_that_resolves_to_loopback_by_default()
    {
        var problem = await new WebhookUrlPolicy(allowPrivate: false).CheckAsync("https://localhost/hook", CancellationToken.None);
        Assert.NotNull(problem);
        Assert.Contains("loopback", problem);
    }

    [Fact]
    public async Task Should_accept_loopback_http_only_when_private_webhooks_are_allowed()
    {
        var policy = new WebhookUrlPolicy(allowPrivate: true);
        Assert.Null(await policy.CheckAsync("http://127.0.0.1:9/hook", CancellationToken.None));
        Assert.Null(await policy.CheckAsync("http://localhost:9/hook", CancellationToken.None));
        Assert.Null(await policy.CheckAsync("https://10.0.0.1/hook", CancellationToken.None));
        // Plain http beyond this machine would expose the callback token; the suite expects this refusal.
        Assert.NotNull(await policy.CheckAsync("http://10.0.0.1/hook", CancellationToken.None));
        // Metadata endpoints are never a receiver, whatever the flag.
        Assert.NotNull(await policy.CheckAsync("https://169.254.169.254/", CancellationToken.None));
    }

    [Fact]
    public async Task Should_accept_a_public_https_address() =>
        Assert.Null(await new WebhookUrlPolicy(allowPrivate: false).CheckAsync("https://93.184.216.34/hook", CancellationToken.None));
}
