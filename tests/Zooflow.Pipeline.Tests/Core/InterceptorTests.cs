using Xunit;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Interceptors;
using static Zooflow.Pipeline.Tests.Core.TestUtil;

namespace Zooflow.Pipeline.Tests.Core;

/// <summary>Interceptors with Flume's keys and defaults (Flume user guide "Flume Interceptors").</summary>
public sealed class InterceptorTests
{
    internal static ComponentContext Ctx(List<ConfigError> errors, TimeProvider? clock = null, params (string Key, string Value)[] props) =>
        new("a1.sources.r1.interceptors.i1.", props.ToDictionary(p => p.Key, p => new ConfigValue(p.Value, "f:1")), errors, NullLoggerFactory.Instance)
        {
            Clock = clock ?? TimeProvider.System,
        };

    private static IInterceptor Build(string type, params (string Key, string Value)[] props)
    {
        var errors = new List<ConfigError>();
        Assert.True(ComponentRegistry.CreateDefault().TryResolve(ComponentKind.Interceptor, type, out var t));
        var interceptor = (IInterceptor)t.Create("i1", Ctx(errors, null, props));
        Assert.Empty(errors);
        return interceptor;
    }

    [Fact]
    public void Timestamp_Default_SetsEpochMillisUnlessPreserved()
    {
        var clock = new ManualClock();
        var errors = new List<ConfigError>();
        var i = TimestampInterceptor.Create(Ctx(errors, clock));
        var e = i.Intercept(Ev("x", ("timestamp", "1")))!;
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), e.Headers["timestamp"]);
        var keep = TimestampInterceptor.Create(Ctx(errors, clock, ("preserveExisting", "true"), ("headerName", "ts")));
        Assert.Equal("1", keep.Intercept(Ev("x", ("ts", "1")))!.Headers["ts"]);
    }

    [Fact]
    public void Host_UseIpFalse_SetsHostName()
    {
        var e = Build("host", ("useIP", "false"), ("hostHeader", "hostname")).Intercept(Ev("x"))!;
        Assert.Equal(System.Net.Dns.GetHostName(), e.Headers["hostname"]);
        var ip = Build("HOST").Intercept(Ev("x"))!;
        Assert.True(System.Net.IPAddress.TryParse(ip.Headers["host"], out _));
    }

    [Fact]
    public void Static_PreservesExistingByDefault()
    {
        var i = Build("static", ("key", "datacenter"), ("value", "NEW_YORK"));
        Assert.Equal("NEW_YORK", i.Intercept(Ev("x"))!.Headers["datacenter"]);
        Assert.Equal("old", i.Intercept(Ev("x", ("datacenter", "old")))!.Headers["datacenter"]);
        var defaults = Build("org.apache.flume.interceptor.StaticInterceptor$Builder");
        Assert.Equal("value", defaults.Intercept(Ev("x"))!.Headers["key"]);
    }

    [Fact]
    public void RemoveHeader_WithNameFromListAndMatching_Removed()
    {
        var i = Build("remove_header", ("withName", "a"), ("fromList", "b , c"), ("matching", "^tmp_"));
        var e = i.Intercept(Ev("x", ("a", "1"), ("b", "2"), ("c", "3"), ("tmp_x", "4"), ("keep", "5")))!;
        Assert.Equal(["keep"], e.Headers.Keys.ToArray());
    }

    [Fact]
    public void Uuid_FlumeClassName_SetsPrefixedIdUnlessPresent()
    {
        var i = Build("org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder", ("prefix", "p-"));
        var id = i.Intercept(Ev("x"))!.Headers["id"];
        Assert.StartsWith("p-", id);
        Assert.True(Guid.TryParse(id[2..], out _));
        Assert.Equal("mine", i.Intercept(Ev("x", ("id", "mine")))!.Headers["id"]);
    }

    [Fact]
    public void RegexFilter_IncludeAndExclude_UsesFind()
    {
        var include = Build("regex_filter", ("regex", "ERR"));
        Assert.NotNull(include.Intercept(Ev("an ERROR here")));
        Assert.Null(include.Intercept(Ev("all fine")));
        var exclude = Build("regex_filter", ("regex", "^DEBUG"), ("excludeEvents", "true"));
        Assert.Null(exclude.Intercept(Ev("DEBUG noise")));
        Assert.NotNull(exclude.Intercept(Ev("INFO ok")));
    }

    [Fact]
    public void RegexExtractor_GroupsToHeaders_WithMillisSerializer()
    {
        var i = Build("regex_extractor",
            ("regex", @"^(\d\d\d\d-\d\d-\d\d \d\d:\d\d) (\w+)"),
            ("serializers", "s1 s2"),
            ("serializers.s1.type", "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"),
            ("serializers.s1.name", "timestamp"),
            ("serializers.s1.pattern", "yyyy-MM-dd HH:mm"),
            ("serializers.s2.name", "level"));
        var e = i.Intercept(Ev("2012-10-18 18:47 WARN something"))!;
        Assert.Equal("WARN", e.Headers["level"]);
        var expected = new DateTimeOffset(new DateTime(2012, 10, 18, 18, 47, 0, DateTimeKind.Local)).ToUnixTimeMilliseconds();
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Headers["timestamp"]);
        Assert.Empty(i.Intercept(Ev("no match"))!.Headers);
    }

    [Fact]
    public void RegexExtractor_MissingRegexAndSerializerName_Errors()
    {
        var errors = new List<ConfigError>();
        RegexExtractorInterceptor.Create(Ctx(errors, null, ("serializers", "s1")));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.interceptors.i1.regex" && e.Message.Contains("required"));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.interceptors.i1.serializers.s1.name");
    }

    [Fact]
    public void SearchReplace_JavaGroupSyntax_Replaced()
    {
        var i = Build("search_replace", ("searchPattern", @"(\d+)-(\d+)"), ("replaceString", @"$2:$1 \$"));
        Assert.Equal("x 2:1 $ y", Body(i.Intercept(Ev("x 1-2 y"))!));
        var strip = Build("search_replace", ("searchPattern", "^[A-Za-z0-9_]+ "), ("replaceString", ""));
        Assert.Equal("rest of line", Body(strip.Intercept(Ev("prefix rest of line"))!));
    }

    [Fact]
    public void SearchReplace_BadRegex_ErrorNamesKeyAndValue()
    {
        var errors = new List<ConfigError>();
        SearchReplaceInterceptor.Create(Ctx(errors, null, ("searchPattern", "(unclosed"), ("replaceString", "x")));
        var error = Assert.Single(errors);
        Assert.Equal("a1.sources.r1.interceptors.i1.searchPattern", error.Key);
        Assert.Contains("'(unclosed' is not a valid regular expression", error.Message);
    }
}
