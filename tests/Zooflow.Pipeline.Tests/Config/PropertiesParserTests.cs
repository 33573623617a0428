using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Configuration;

namespace Zooflow.Pipeline.Tests.Config;

/// <summary>java.util.Properties.load rules as Flume reads its file (Properties Javadoc; flume.md §2 "Parsing").</summary>
public sealed class PropertiesParserTests
{
    private static IReadOnlyDictionary<string, ConfigValue> Parse(string text, List<ConfigError>? errors = null) =>
        PropertiesParser.Parse(text, "flume.conf", errors ?? []);

    [Fact]
    public void Parse_EqualsColonAndWhitespaceSeparators_AllRecognized()
    {
        var p = Parse("a=1\nb:2\nc 3\nd = 4\ne  :  5\nf\t6\n");
        Assert.Equal(["1", "2", "3", "4", "5", "6"], new[] { "a", "b", "c", "d", "e", "f" }.Select(k => p[k].Value));
    }

    [Fact]
    public void Parse_HashAndBangComments_Ignored()
    {
        var p = Parse("# comment = x\n  ! another\na=1\n");
        Assert.Equal(["a"], p.Keys.ToArray());
    }

    [Fact]
    public void Parse_BackslashContinuation_JoinsAndStripsLeadingWhitespace()
    {
        var p = Parse("a1.sources = r1 \\\n     r2 \\\n\tr3\nnext = x\n");
        Assert.Equal("r1 r2 r3", p["a1.sources"].Value);
        Assert.Equal("flume.conf:1", p["a1.sources"].Location);
        Assert.Equal("flume.conf:4", p["next"].Location);
    }

    [Fact]
    public void Parse_EvenBackslashes_DoNotContinue()
    {
        var p = Parse("a = x\\\\\nb = y\n");
        Assert.Equal("x\\", p["a"].Value);
        Assert.Equal("y", p["b"].Value);
    }

    [Fact]
    public void Parse_Escapes_Decoded()
    {
        var p = Parse("k\\ ey = \\u0041\\tB\\nC\\=D\\\\E\nx\\:y = 1\n");
        Assert.Equal("A\tB\nC=D\\E", p["k ey"].Value);
        Assert.Equal("1", p["x:y"].Value);
    }

    [Fact]
    public void Parse_DuplicateKey_LastWinsWithItsLine()
    {
        var p = Parse("a = 1\nb = 2\na = 3\n");
        Assert.Equal("3", p["a"].Value);
        Assert.Equal("flume.conf:3", p["a"].Location);
    }

    [Fact]
    public void Parse_KeysAndValuesTrimmed_CrLfLinesCounted()
    {
        var p = Parse("  a.b  =  spaced value   \r\n\r\nc = d\r");
        Assert.Equal("spaced value", p["a.b"].Value);
        Assert.Equal("flume.conf:3", p["c"].Location);
    }

    [Fact]
    public void Parse_KeyWithoutValue_EmptyValue()
    {
        var p = Parse("lonely\n");
        Assert.Equal("", p["lonely"].Value);
    }

    [Fact]
    public void Parse_MalformedUnicodeEscape_RecordsErrorWithLine()
    {
        var errors = new List<ConfigError>();
        Parse("a = ok\nb = \\u12G4\n", errors);
        var e = Assert.Single(errors);
        Assert.Equal("flume.conf:2", e.Location);
        Assert.Contains("malformed \\uxxxx escape", e.Message);
    }

    [Fact]
    public void Substitution_EnvEnvPrefixSysAndKey_Resolved()
    {
        var errors = new List<ConfigError>();
        var raw = Parse("a = ${HOME_DIR}/x\nb = ${env:PORT}\nc = ${sys:flume.dir}\nbase = /opt\nd = ${base}/logs\n");
        var p = PropertySubstitution.Apply(raw,
            new Dictionary<string, string> { ["HOME_DIR"] = "/home/u", ["PORT"] = "4141" },
            new Dictionary<string, string> { ["flume.dir"] = "/var/flume" }, errors);
        Assert.Empty(errors);
        Assert.Equal("/home/u/x", p["a"].Value);
        Assert.Equal("4141", p["b"].Value);
        Assert.Equal("/var/flume", p["c"].Value);
        Assert.Equal("/opt/logs", p["d"].Value);
    }

    [Fact]
    public void Substitution_Undefined_ErrorNamesVariableKeyAndLine()
    {
        var errors = new List<ConfigError>();
        var raw = Parse("x = 1\na1.sinks.k1.sink.directory = ${LOG_DIR}/out\n");
        var p = PropertySubstitution.Apply(raw, new Dictionary<string, string>(), new Dictionary<string, string>(), errors);
        var e = Assert.Single(errors);
        Assert.Equal("a1.sinks.k1.sink.directory", e.Key);
        Assert.Equal("flume.conf:2", e.Location);
        Assert.Contains("'${LOG_DIR}' in '${LOG_DIR}/out' is not defined", e.Message);
        Assert.Equal("${LOG_DIR}/out", p["a1.sinks.k1.sink.directory"].Value);
    }
}
