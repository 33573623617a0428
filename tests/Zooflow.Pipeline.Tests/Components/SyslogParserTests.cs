using System.Text;
using Xunit;
using Zooflow.Pipeline.Components.Sources.Syslog;
using Zooflow.TestKit;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// Golden expectations for Flume's two syslog parsers (SyslogUtils for syslogtcp/syslogudp, SyslogParser for
/// multiport_syslogtcp), built from the examples of RFC 5424 §6.5 and RFC 3164 §5.4, and the framing of RFC 6587.
/// </summary>
public sealed class SyslogParserTests
{
    /// <summary>A clock fixed at 2003-11-01T00:00:00Z whose local zone is UTC+02:00 (no tzdata needed).</summary>
    private static readonly FixedClock Clock = new(new DateTimeOffset(2003, 11, 1, 0, 0, 0, TimeSpan.Zero),
        TimeZoneInfo.CreateCustomTimeZone("test+02", TimeSpan.FromHours(2), "test+02", "test+02"));

    private static SyslogLineParser Line(string keepFields = "none") =>
        new(Keep(keepFields), Clock);

    private static SyslogKeepFields Keep(string keepFields)
    {
        var errors = new List<Zooflow.Pipeline.Abstractions.ConfigError>();
        var keep = SyslogKeepFields.FromContext(Context("a1.sources.r1.", [KeyValuePair.Create("keepFields", keepFields)], errors));
        Assert.Empty(errors);
        return keep;
    }

    private static string Body(SyslogMessage m) => Encoding.UTF8.GetString(m.Body.Span);

    private static long Ms(int y, int mo, int d, int h, int mi, int s, int ms = 0, int offsetHours = 0) =>
        new DateTimeOffset(y, mo, d, h, mi, s, ms, TimeSpan.FromHours(offsetHours)).ToUnixTimeMilliseconds();

    public static TheoryData<string, string, string, string, string?, string?, string> Rfc5424Examples() => new()
    {
        // RFC 5424 §6.5 example 1 (BOM before the MSG).
        { "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
            "4", "2", "1", Ms(2003, 10, 11, 22, 14, 15, 3).ToString(), "mymachine.example.com", "su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8" },
        // Example 2: microseconds and a negative offset (Flume's SimpleDateFormat would ignore the offset here).
        { "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
            "20", "5", "1", Ms(2003, 8, 24, 5, 14, 15, 0, -7).ToString(), "192.0.2.1", "myproc 8710 - - %% It's time to make the do-nuts." },
        // Example 3: structured data stays in the body.
        { "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry...",
            "20", "5", "1", Ms(2003, 10, 11, 22, 14, 15, 3).ToString(), "mymachine.example.com", "evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry..." },
        // No version, '+hh:mm' offset (Flume's TestHeader0).
        { "<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg", "1", "2", "", Ms(2012, 4, 13, 11, 11, 11, 0, 8).ToString(), "ubuntu-11.cloudera.com", "some msg" },
        // No offset: wall-clock time in the agent's zone (UTC+2 here).
        { "<10>1 2012-04-13T11:11:11 ubuntu-11.cloudera.com some msg", "1", "2", "1", Ms(2012, 4, 13, 11, 11, 11, 0, 2).ToString(), "ubuntu-11.cloudera.com", "some msg" },
        // Nil timestamp: no timestamp header (Flume's TestHeader4); nil host: no host header (TestHeader5).
        { "<10>1 - ubuntu-11.cloudera.com some msg", "1", "2", "1", null, "ubuntu-11.cloudera.com", "some msg" },
        { "<10>1 2012-04-13T11:11:11.5Z - some msg", "1", "2", "1", Ms(2012, 4, 13, 11, 11, 11, 500).ToString(), null, "some msg" },
    };

    [Theory]
    [MemberData(nameof(Rfc5424Examples))]
    public void Parse_Rfc5424Examples_FlumeHeadersAndMessage(string line, string facility, string severity, string version, string? timestamp, string? host, string body)
    {
        var message = Line().Parse(Encoding.UTF8.GetBytes(line), incomplete: false);

        Assert.Equal(facility, message.Headers["Facility"]);
        Assert.Equal(severity, message.Headers["Severity"]);
        Assert.Equal(line[1..line.IndexOf('>')], message.Headers["priority"]);
        Assert.Equal(version, message.Headers.GetValueOrDefault("version", ""));
        Assert.Equal(timestamp, message.Headers.GetValueOrDefault("timestamp"));
        Assert.Equal(host, message.Headers.GetValueOrDefault("host"));
        Assert.False(message.Headers.ContainsKey("flume.syslog.status"));
        Assert.Equal(body, Body(message));
    }

    public static TheoryData<string, string, string, long?, string, string> Rfc3164Examples() => new()
    {
        // RFC 3164 §5.4 examples; the clock is 2003-11-01, so October is this year and December last year.
        { "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", "4", "2", Ms(2003, 10, 11, 22, 14, 15, 0, 2), "mymachine", "su: 'su root' failed for lonvick on /dev/pts/8" },
        { "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", "1", "5", Ms(2003, 2, 5, 17, 32, 18, 0, 2), "10.0.0.99", "Use the BFG!" },
        // "CST 1987" is not a host Flume's regex can tell from a year: CST becomes the host.
        { "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.", "20", "5", Ms(2003, 8, 24, 5, 34, 0, 0, 2), "CST", "1987 mymachine myproc[10]: %% It's time to make the do-nuts." },
        // Eleven months back is the limit: December is last year, a date a few days ahead is this year.
        { "<13>Dec 31 23:59:59 host a", "1", "5", Ms(2002, 12, 31, 23, 59, 59, 0, 2), "host", "a" },
        { "<13>Nov  3 10:00:00 host a", "1", "5", Ms(2003, 11, 3, 10, 0, 0, 0, 2), "host", "a" },
        // An impossible date keeps the match but has no timestamp header (as Flume when SimpleDateFormat fails).
        { "<13>Foo  3 10:00:00 host a", "1", "5", null, "host", "a" },
    };

    [Theory]
    [MemberData(nameof(Rfc3164Examples))]
    public void Parse_Rfc3164Examples_TimestampWithYearWindowAndHost(string line, string facility, string severity, long? timestamp, string host, string body)
    {
        var message = Line().Parse(Encoding.UTF8.GetBytes(line), incomplete: false);

        Assert.Equal(facility, message.Headers["Facility"]);
        Assert.Equal(severity, message.Headers["Severity"]);
        Assert.Equal(timestamp?.ToString(), message.Headers.GetValueOrDefault("timestamp"));
        Assert.Equal(host, message.Headers["host"]);
        Assert.Equal(body, Body(message));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("<10F> bad bad data")]
    [InlineData("hi guys! <10> bad bad data")]
    [InlineData("<1234>Oct 11 22:14:15 host msg")]
    [InlineData("<>Oct 11 22:14:15 host msg")]
    [InlineData("<13")]
    public void Parse_InvalidPriority_MarkedInvalidWithRawBodyAndZeroFacility(string line)
    {
        var message = Line().Parse(Encoding.UTF8.GetBytes(line), incomplete: false);

        Assert.Equal("Invalid", message.Headers["flume.syslog.status"]);
        Assert.Equal("0", message.Headers["Facility"]);
        Assert.Equal("0", message.Headers["Severity"]);
        Assert.Equal(line, Body(message));
    }

    [Fact]
    public void Parse_ValidPriorityButNoKnownForm_RawBodyWithFacilityOnly()
    {
        const string line = "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!";

        var message = Line().Parse(Encoding.UTF8.GetBytes(line), incomplete: false);

        Assert.Equal(line, Body(message));
        Assert.Equal(["Facility", "Severity"], message.Headers.Keys.Order());
    }

    [Fact]
    public void Parse_CarriageReturnInMessage_NoMatchAsJavaDotRefusesIt()
    {
        var message = Line().Parse("<13>Feb  5 17:32:18 host text\r"u8.ToArray(), incomplete: false);

        Assert.Equal("<13>Feb  5 17:32:18 host text\r", Body(message));
        Assert.False(message.Headers.ContainsKey("host"));
    }

    [Theory]
    [InlineData("all", "<34>1 2003-10-11T22:14:15.003Z mymachine su - - msg")]
    [InlineData("true", "<34>1 2003-10-11T22:14:15.003Z mymachine su - - msg")]
    [InlineData("none", "su - - msg")]
    [InlineData("hostname", "mymachine su - - msg")]
    [InlineData("timestamp hostname", "2003-10-11T22:14:15.003Z mymachine su - - msg")]
    [InlineData("priority version timestamp hostname", "<34>1 2003-10-11T22:14:15.003Z mymachine su - - msg")]
    [InlineData("priority", "<34>su - - msg")]
    public void Parse_KeepFields_PutsChosenFieldsBackInFront(string keepFields, string body)
    {
        var message = Line(keepFields).Parse("<34>1 2003-10-11T22:14:15.003Z mymachine su - - msg"u8.ToArray(), incomplete: false);

        Assert.Equal(body, Body(message));
        Assert.Equal("mymachine", message.Headers["host"]);
    }

    [Fact]
    public void KeepFields_UnknownWord_ConfigurationErrorNamingTheKey()
    {
        var errors = new List<Zooflow.Pipeline.Abstractions.ConfigError>();

        SyslogKeepFields.FromContext(Context("a1.sources.r1.", [KeyValuePair.Create("keepFields", "hostnmae")], errors));

        var error = Assert.Single(errors);
        Assert.Equal("a1.sources.r1.keepFields", error.Key);
        Assert.Equal("test.conf:1", error.Location);
        Assert.Contains("hostnmae", error.Message);
    }

    [Fact]
    public void Parse_Incomplete_StatusIncompleteHeadersStillParsed()
    {
        var message = Line().Parse("<13>Feb  5 17:32:18 host first part of a long"u8.ToArray(), incomplete: true);

        Assert.Equal("Incomplete", message.Headers["flume.syslog.status"]);
        Assert.Equal("host", message.Headers["host"]);
    }

    private static MultiportSyslogParser Multiport(string keepFields = "none") => new(Keep(keepFields), Clock);

    [Fact]
    public void Multiport_Rfc5424_CapitalisedPriorityAndVersionHeaders()
    {
        var message = Multiport().Parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - msg"u8.ToArray(), Encoding.UTF8, incomplete: false);

        Assert.Equal("34", message.Headers["Priority"]);
        Assert.Equal("1", message.Headers["Version"]);
        Assert.Equal("4", message.Headers["Facility"]);
        Assert.Equal("2", message.Headers["Severity"]);
        Assert.Equal(Ms(2003, 10, 11, 22, 14, 15, 3).ToString(), message.Headers["timestamp"]);
        Assert.Equal("mymachine.example.com", message.Headers["host"]);
        Assert.Equal("su - ID47 - msg", Body(message));
    }

    [Fact]
    public void Multiport_Rfc3164_UtcWithYearWindow()
    {
        var message = Multiport().Parse("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"u8.ToArray(), Encoding.UTF8, incomplete: false);

        Assert.Equal(Ms(2003, 2, 5, 17, 32, 18).ToString(), message.Headers["timestamp"]);
        Assert.Equal("10.0.0.99", message.Headers["host"]);
        Assert.Equal("Use the BFG!", Body(message));
    }

    [Fact]
    public void Multiport_NilTimestamp_TimeOfArrivalAndDashHostKept()
    {
        var message = Multiport().Parse("<13>1 - - msg"u8.ToArray(), Encoding.UTF8, incomplete: false);

        Assert.Equal(Clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(), message.Headers["timestamp"]);
        Assert.Equal("-", message.Headers["host"]);
        Assert.Equal("msg", Body(message));
    }

    [Theory]
    [InlineData("no priority here")]
    [InlineData("<13>")]
    [InlineData("<13>2012-04-13T11:11:11 host msg")]
    [InlineData("<13>2012-04-13T11:11:11.123 host msg")]
    [InlineData("<13>1 2012-04-13T11:11:11Z")]
    [InlineData("<abc>1 - host msg")]
    public void Multiport_Unparseable_OnlyInvalidStatusAndWholeLine(string line)
    {
        var message = Multiport().Parse(Encoding.UTF8.GetBytes(line), Encoding.UTF8, incomplete: false);

        Assert.Equal(new Dictionary<string, string> { ["flume.syslog.status"] = "Invalid" }, message.Headers);
        Assert.Equal(line, Body(message));
    }

    [Fact]
    public void Multiport_BytesInvalidForCharset_InvalidWithRawBytes()
    {
        byte[] line = [.. "<13>1 - host "u8, 0xFF, 0xFE];

        var message = Multiport().Parse(line, new UTF8Encoding(false, true), incomplete: false);

        Assert.Equal("Invalid", message.Headers["flume.syslog.status"]);
        Assert.Equal(line, message.Body.ToArray());
    }

    [Fact]
    public void Multiport_Latin1Charset_DecodedAndReencoded()
    {
        Assert.True(Charsets.TryGet("ISO-8859-1", out var latin1));
        var line = latin1.GetBytes("<13>1 - host caf\u00e9");

        var message = Multiport().Parse(line, latin1, incomplete: false);

        Assert.Equal(latin1.GetBytes("caf\u00e9"), message.Body.ToArray());
    }

    public static TheoryData<string, string[], bool[]> Streams() => new()
    {
        { "<13>a\n<14>b\n", ["<13>a", "<14>b"], [false, false] },
        { "\n\n<13>a\n\n", ["<13>a"], [false] },
        // eventSize 10: a 9-byte line is whole; a 10-byte line is cut (Flume marks even an exact fit Incomplete) and its
        // newline is then skipped; a longer one continues as the next frame.
        { "123456789\n1234567890\nabcdefghijKLM\n", ["123456789", "1234567890", "abcdefghij", "KLM"], [false, true, true, false] },
        // RFC 6587 octet counting, back to back (a frame longer than eventSize is cut and continued), then a plain line.
        { "5 <13>a13 <14>1 - h msg<15>c\n", ["<13>a", "<14>1 - h ", "msg", "<15>c"], [false, true, false, false] },
        // An unterminated last line is delivered at the end of the stream.
        { "<13>a\n<13>tail", ["<13>a", "<13>tail"], [false, true] },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public void Framer_EveryFragmentation_SameFrames(string stream, string[] frames, bool[] incomplete)
    {
        var bytes = Encoding.ASCII.GetBytes(stream);
        foreach (var (shape, sequence) in Fragmenter.AllShapes(bytes))
        {
            var (gotFrames, gotIncomplete) = FrameIncrementally(sequence);
            Assert.True(frames.SequenceEqual(gotFrames), $"{shape}: [{string.Join("|", gotFrames)}]");
            Assert.True(incomplete.SequenceEqual(gotIncomplete), $"{shape}: incomplete [{string.Join(",", gotIncomplete)}]");
        }
    }

    /// <summary>Feeds the sequence to one framer as a socket would: growing prefixes, then end of stream.</summary>
    private static (List<string> Frames, List<bool> Incomplete) FrameIncrementally(System.Buffers.ReadOnlySequence<byte> all)
    {
        var framer = new SyslogFramer(10);
        var frames = new List<string>();
        var incomplete = new List<bool>();
        long consumed = 0;
        for (var available = 0L; available <= all.Length; available++)
        {
            var endOfStream = available == all.Length;
            var buffer = all.Slice(consumed, available - consumed);
            while (framer.TryRead(ref buffer, endOfStream, out var frame, out var cut))
            {
                frames.Add(Encoding.ASCII.GetString(frame));
                incomplete.Add(cut);
            }
            consumed = available - buffer.Length;
        }
        return (frames, incomplete);
    }
}

/// <summary>A clock stopped at one instant with a chosen local time zone.</summary>
internal sealed class FixedClock(DateTimeOffset now, TimeZoneInfo zone) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => zone;
}
