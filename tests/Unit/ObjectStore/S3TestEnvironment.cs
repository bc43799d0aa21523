using Streams.Actors.ObjectStore;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>
/// A fact that needs the S3 test server: skipped with the reason when it is absent and not
/// required (see <see cref="S3TestServer"/>).
/// </summary>
[XunitTestCaseDiscoverer("Streams.Tests.Unit.ObjectStore.S3AwareFactDiscoverer", "Streams.Tests.Unit")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (S3TestServer.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>Marks a concrete contract test class whose store is the S3 test server.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresS3Attribute : Attribute;

/// <summary>
/// A fact in a contract suite shared by several stores. The suite's tests are declared once in
/// an abstract base class, so whether one needs S3 depends on the concrete class it runs in
/// (marked <see cref="RequiresS3Attribute"/>), which only a discoverer can see.
/// </summary>
[XunitTestCaseDiscoverer("Streams.Tests.Unit.ObjectStore.S3AwareFactDiscoverer", "Streams.Tests.Unit")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractFactAttribute : FactAttribute;

/// <summary>
/// Skips the facts that need S3 when there is no server, and says why once per run as an
/// xunit diagnostic message (enabled in xunit.runner.json), which `dotnet test` prints at its
/// default verbosity, unlike skip reasons.
/// </summary>
public sealed class S3AwareFactDiscoverer : IXunitTestCaseDiscoverer
{
    private static int s_reasonReported;
    private readonly IMessageSink _diagnosticMessageSink;

    public S3AwareFactDiscoverer(IMessageSink diagnosticMessageSink)
    {
        _diagnosticMessageSink = diagnosticMessageSink;
    }

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        var needsS3 = testMethod.Method.GetCustomAttributes(typeof(S3FactAttribute)).Any()
            || testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresS3Attribute)).Any();
        if (needsS3 && S3TestServer.SkipReason is { } reason)
        {
            if (Interlocked.Exchange(ref s_reasonReported, 1) == 0)
            {
                _diagnosticMessageSink.OnMessage(new DiagnosticMessage(reason));
            }

            return [new XunitSkippedDataRowTestCase(_diagnosticMessageSink, display, displayOptions, testMethod, reason)];
        }

        return [new XunitTestCase(_diagnosticMessageSink, display, displayOptions, testMethod)];
    }
}
