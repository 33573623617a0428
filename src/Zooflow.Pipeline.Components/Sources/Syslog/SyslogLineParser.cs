using System.Globalization;
using System.Text;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>One parsed syslog message: the event body and its headers (the caller may add more headers).</summary>
internal readonly record struct SyslogMessage(ReadOnlyMemory<byte> Body, Dictionary<string, string> Headers);

/// <summary>
/// Turns one framed syslog line into an event the way Flume's <c>SyslogUtils</c> does for <c>syslogtcp</c> and
/// <c>syslogudp</c>: headers <c>Facility</c>, <c>Severity</c>, <c>priority</c>, <c>version</c>, <c>timestamp</c>,
/// <c>host</c>, and <c>flume.syslog.status</c> for flawed lines.
/// </summary>
/// <remarks>
/// <para>Grammar (Flume's two regular expressions, tried in this order; <c>\s</c> is Java's <c>[ \t\n\x0B\f\r]</c>,
/// <c>\w</c> is <c>[A-Za-z0-9_]</c>):</para>
/// <code>
/// line    := "&lt;" PRI "&gt;" ( rfc5424 | rfc3164 | other )          PRI := 1*3DIGIT
/// rfc5424 := [DIGIT] [\s] ( TS5424 | "-" ) \s ( HOST | "-" ) \s MSG
/// TS5424  := 4DIGIT "-" 2DIGIT "-" 2DIGIT "T" 2DIGIT ":" 2DIGIT ":" 2DIGIT [ "." 1*6DIGIT ] [ ("+"|"-") 2DIGIT ":" 2DIGIT | "Z" ]
/// rfc3164 := [DIGIT] [\s] TS3164 \s HOST \s MSG
/// TS3164  := UPPER LOWER LOWER 1*2\s 1*2DIGIT \s 2DIGIT ":" 2DIGIT ":" 2DIGIT
/// HOST    := \w *( \w | "." | "@" | "-" )
/// MSG     := any bytes except CR, LF, U+0085, U+2028, U+2029 (Java's "." in "(.*)$")
/// </code>
/// <para>A line without a valid PRI (not starting with <c>&lt;</c>, more than three digits, a non-digit, or <c>&lt;&gt;</c>)
/// becomes an event with <c>Facility=0</c>, <c>Severity=0</c>, <c>flume.syslog.status=Invalid</c> and the raw line as
/// body. A line with a valid PRI that matches neither form keeps the raw line as body with only Facility and Severity.
/// An unparseable date leaves the <c>timestamp</c> header out, as in Flume.</para>
/// <para>Timestamps: RFC 5424 with an offset honour the offset; without one they are wall-clock time in the agent's
/// time zone (Flume's JVM default). Flume's SimpleDateFormat ignores the offset when the time has fractional seconds
/// and reads <c>.5</c> as 5 ms; Zooflow follows RFC 5424 there (documented in docs/compatibility.md). RFC 3164 dates get
/// the year by <see cref="SyslogTime.TryRfc3164ToEpochMs"/>.</para>
/// <para>Differences from Flume kept on purpose: the <c>priority</c>/<c>version</c> headers are not carried over from
/// the previous line of the connection (Flume never resets them); the body is sliced from the received bytes instead of
/// being decoded and re-encoded, so invalid UTF-8 survives unchanged.</para>
/// </remarks>
internal sealed class SyslogLineParser(SyslogKeepFields keepFields, TimeProvider clock)
{
    /// <summary>Parses <paramref name="line"/> (without its newline); the array becomes the event's storage.</summary>
    public SyslogMessage Parse(byte[] line, bool incomplete)
    {
        var headers = new Dictionary<string, string>(8, StringComparer.Ordinal);
        var span = line.AsSpan();
        if (!TryPri(span, out var pri, out var priEnd))
        {
            headers[SyslogHeaders.Facility] = "0";
            headers[SyslogHeaders.Severity] = "0";
            headers[SyslogHeaders.Status] = SyslogHeaders.Invalid;
            return new SyslogMessage(line, headers);
        }
        headers[SyslogHeaders.Facility] = (pri / 8).ToString(CultureInfo.InvariantCulture);
        headers[SyslogHeaders.Severity] = (pri % 8).ToString(CultureInfo.InvariantCulture);
        if (incomplete)
        {
            headers[SyslogHeaders.Status] = SyslogHeaders.Incomplete;
        }
        var priority = Encoding.ASCII.GetString(span[1..(priEnd - 1)]);
        ReadOnlyMemory<byte> body = line;
        if (TryMatch5424(span, priEnd, out var match) || TryMatch3164(span, priEnd, out match))
        {
            headers["priority"] = priority;
            if (match.Version.Length > 0)
            {
                headers["version"] = match.Version;
            }
            if (match.TimestampMs is { } ms)
            {
                headers[SyslogHeaders.Timestamp] = ms.ToString(CultureInfo.InvariantCulture);
            }
            if (!string.IsNullOrEmpty(match.Host))
            {
                headers[SyslogHeaders.Host] = match.Host;
            }
            if (!keepFields.All)
            {
                var prefix = keepFields.Prefix(priority, match.Version, match.TimestampText, match.Host);
                var msgLength = line.Length - match.BodyStart;
                if (prefix.Length == 0 && msgLength > 0)
                {
                    body = line.AsMemory(match.BodyStart);
                }
                else if (prefix.Length > 0)
                {
                    var composed = new byte[prefix.Length + msgLength];
                    Encoding.ASCII.GetBytes(prefix, composed);
                    span[match.BodyStart..].CopyTo(composed.AsSpan(prefix.Length));
                    body = composed;
                }
            }
        }
        return new SyslogMessage(body, headers);
    }

    /// <summary><c>&lt;</c> 1*3DIGIT <c>&gt;</c>; <paramref name="end"/> is the index after <c>&gt;</c>.</summary>
    internal static bool TryPri(ReadOnlySpan<byte> line, out int pri, out int end)
    {
        pri = 0;
        end = 0;
        if (line.Length < 3 || line[0] != (byte)'<')
        {
            return false;
        }
        var i = 1;
        while (i < line.Length && i <= 4 && IsDigit(line[i]))
        {
            pri = pri * 10 + (line[i] - '0');
            i++;
        }
        if (i == 1 || i > 4 || i >= line.Length || line[i] != (byte)'>')
        {
            return false;
        }
        end = i + 1;
        return true;
    }

    private readonly record struct Match(string Version, string? TimestampText, long? TimestampMs, string? Host, int BodyStart);

    private bool TryMatch5424(ReadOnlySpan<byte> line, int start, out Match match)
    {
        match = default;
        foreach (var versionLength in OptionalLengths(line, start, IsDigit))
        {
            foreach (var spaceLength in OptionalLengths(line, start + versionLength, IsSpace))
            {
                var position = start + versionLength + spaceLength;
                string? timestampText;
                long? timestampMs = null;
                int afterTimestamp;
                if (position < line.Length && line[position] == (byte)'-')
                {
                    timestampText = null;
                    afterTimestamp = position + 1;
                }
                else if (TryTimestamp5424(line, position, out afterTimestamp, out var parsed))
                {
                    timestampText = Encoding.ASCII.GetString(line[position..afterTimestamp]);
                    timestampMs = parsed;
                }
                else
                {
                    continue;
                }
                if (!IsSpaceAt(line, afterTimestamp))
                {
                    continue;
                }
                var hostStart = afterTimestamp + 1;
                string? host;
                int afterHost;
                if (hostStart < line.Length && line[hostStart] == (byte)'-')
                {
                    host = null;
                    afterHost = hostStart + 1;
                }
                else if (!TryHost(line, hostStart, out afterHost, out host))
                {
                    continue;
                }
                if (!IsSpaceAt(line, afterHost) || !IsMessageText(line[(afterHost + 1)..]))
                {
                    continue;
                }
                var version = versionLength == 1 ? ((char)line[start]).ToString() : "";
                match = new Match(version, timestampText, timestampMs, host, afterHost + 1);
                return true;
            }
        }
        return false;
    }

    private bool TryMatch3164(ReadOnlySpan<byte> line, int start, out Match match)
    {
        match = default;
        foreach (var versionLength in OptionalLengths(line, start, IsDigit))
        {
            foreach (var spaceLength in OptionalLengths(line, start + versionLength, IsSpace))
            {
                var position = start + versionLength + spaceLength;
                if (!TryTimestamp3164(line, position, out var afterTimestamp, out var month, out var day, out var hour, out var minute, out var second)
                    || !IsSpaceAt(line, afterTimestamp)
                    || !TryHost(line, afterTimestamp + 1, out var afterHost, out var host)
                    || !IsSpaceAt(line, afterHost)
                    || !IsMessageText(line[(afterHost + 1)..]))
                {
                    continue;
                }
                long? timestampMs = SyslogTime.TryRfc3164ToEpochMs(month, day, hour, minute, second, clock.LocalTimeZone, clock.GetUtcNow(), out var ms) ? ms : null;
                var version = versionLength == 1 ? ((char)line[start]).ToString() : "";
                match = new Match(version, Encoding.ASCII.GetString(line[position..afterTimestamp]), timestampMs, host, afterHost + 1);
                return true;
            }
        }
        return false;
    }

    /// <summary>The lengths a greedy optional single-byte element can take at <paramref name="index"/>: 1 then 0, or 0.</summary>
    private static int[] OptionalLengths(ReadOnlySpan<byte> line, int index, Func<byte, bool> matches) =>
        index < line.Length && matches(line[index]) ? OneThenZero : ZeroOnly;

    private static readonly int[] OneThenZero = [1, 0];
    private static readonly int[] ZeroOnly = [0];

    /// <summary>TS5424 at <paramref name="start"/>; the value is null when the text matches but is not a real date.</summary>
    private bool TryTimestamp5424(ReadOnlySpan<byte> line, int start, out int end, out long? epochMs)
    {
        end = start;
        epochMs = null;
        if (!Shape(line, start, "dddd-dd-ddTdd:dd:dd"))
        {
            return false;
        }
        var position = start + 19;
        var fraction = 0;
        var fractionDigits = 0;
        if (position < line.Length && line[position] == (byte)'.')
        {
            var digitsStart = position + 1;
            var digitsEnd = digitsStart;
            while (digitsEnd < line.Length && IsDigit(line[digitsEnd]))
            {
                digitsEnd++;
            }
            fractionDigits = digitsEnd - digitsStart;
            if (fractionDigits is 0 or > 6)
            {
                return false;
            }
            for (var i = digitsStart; i < digitsStart + Math.Min(3, fractionDigits); i++)
            {
                fraction = fraction * 10 + (line[i] - '0');
            }
            for (var i = fractionDigits; i < 3; i++)
            {
                fraction *= 10;
            }
            position = digitsEnd;
        }
        TimeSpan? offset = null;
        if (position < line.Length && line[position] == (byte)'Z')
        {
            offset = TimeSpan.Zero;
            position++;
        }
        else if (position < line.Length && (line[position] == (byte)'+' || line[position] == (byte)'-'))
        {
            if (!Shape(line, position + 1, "dd:dd"))
            {
                return false;
            }
            var minutes = Number(line, position + 1, 2) * 60 + Number(line, position + 4, 2);
            offset = TimeSpan.FromMinutes(line[position] == (byte)'-' ? -minutes : minutes);
            position += 6;
        }
        end = position;
        var year = Number(line, start, 4);
        var month = Number(line, start + 5, 2);
        var day = Number(line, start + 8, 2);
        var hour = Number(line, start + 11, 2);
        var minute = Number(line, start + 14, 2);
        var second = Number(line, start + 17, 2);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return true;
        }
        var wallClock = new DateTime(year, month, day, hour, minute, 0).AddSeconds(second).AddMilliseconds(fraction);
        epochMs = offset is { } o
            ? new DateTimeOffset(DateTime.SpecifyKind(wallClock, DateTimeKind.Unspecified), TimeSpan.Zero).ToUnixTimeMilliseconds() - (long)o.TotalMilliseconds
            : SyslogTime.ToEpochMs(wallClock, clock.LocalTimeZone);
        return true;
    }

    private static bool TryTimestamp3164(ReadOnlySpan<byte> line, int start, out int end, out int month, out int day, out int hour, out int minute, out int second)
    {
        end = start;
        month = day = hour = minute = second = 0;
        if (start + 3 > line.Length || !IsUpper(line[start]) || !IsLower(line[start + 1]) || !IsLower(line[start + 2]))
        {
            return false;
        }
        Span<char> name = [(char)line[start], (char)line[start + 1], (char)line[start + 2]];
        month = SyslogTime.Month(name);
        var position = start + 3;
        var spaces = 0;
        while (spaces < 2 && position < line.Length && IsSpace(line[position]))
        {
            position++;
            spaces++;
        }
        var dayStart = position;
        while (position - dayStart < 2 && position < line.Length && IsDigit(line[position]))
        {
            position++;
        }
        if (spaces == 0 || position == dayStart || !IsSpaceAt(line, position) || !Shape(line, position + 1, "dd:dd:dd"))
        {
            return false;
        }
        day = Number(line, dayStart, position - dayStart);
        hour = Number(line, position + 1, 2);
        minute = Number(line, position + 4, 2);
        second = Number(line, position + 7, 2);
        end = position + 9;
        return true;
    }

    private static bool TryHost(ReadOnlySpan<byte> line, int start, out int end, out string host)
    {
        end = start;
        host = "";
        if (start >= line.Length || !IsWord(line[start]))
        {
            return false;
        }
        end = start + 1;
        while (end < line.Length && (IsWord(line[end]) || line[end] is (byte)'.' or (byte)'@' or (byte)'-'))
        {
            end++;
        }
        host = Encoding.ASCII.GetString(line[start..end]);
        return true;
    }

    /// <summary>True when <paramref name="text"/> holds no character Java's <c>.</c> refuses (CR, LF, NEL, LS, PS in UTF-8).</summary>
    internal static bool IsMessageText(ReadOnlySpan<byte> text)
    {
        if (text.IndexOfAny((byte)'\r', (byte)'\n') >= 0)
        {
            return false;
        }
        for (var i = text.IndexOfAny((byte)0xC2, (byte)0xE2); i >= 0 && i < text.Length; i++)
        {
            if (text[i] == 0xC2 && i + 1 < text.Length && text[i + 1] == 0x85)
            {
                return false;
            }
            if (text[i] == 0xE2 && i + 2 < text.Length && text[i + 1] == 0x80 && text[i + 2] is 0xA8 or 0xA9)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary><paramref name="pattern"/>: <c>d</c> = a digit, anything else = that byte.</summary>
    private static bool Shape(ReadOnlySpan<byte> line, int start, string pattern)
    {
        if (start < 0 || start + pattern.Length > line.Length)
        {
            return false;
        }
        for (var i = 0; i < pattern.Length; i++)
        {
            var b = line[start + i];
            if (pattern[i] == 'd' ? !IsDigit(b) : b != (byte)pattern[i])
            {
                return false;
            }
        }
        return true;
    }

    private static int Number(ReadOnlySpan<byte> line, int start, int length)
    {
        var value = 0;
        for (var i = start; i < start + length; i++)
        {
            value = value * 10 + (line[i] - '0');
        }
        return value;
    }

    private static bool IsSpaceAt(ReadOnlySpan<byte> line, int index) => index < line.Length && IsSpace(line[index]);

    internal static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or 0x0B or (byte)'\f' or (byte)'\r';

    private static bool IsUpper(byte b) => b is >= (byte)'A' and <= (byte)'Z';

    private static bool IsLower(byte b) => b is >= (byte)'a' and <= (byte)'z';

    private static bool IsWord(byte b) => IsDigit(b) || IsUpper(b) || IsLower(b) || b == (byte)'_';
}
