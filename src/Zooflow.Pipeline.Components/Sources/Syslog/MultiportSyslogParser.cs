using System.Globalization;
using System.Text;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>
/// Turns one line into an event the way Flume's <c>SyslogParser</c> does for <c>multiport_syslogtcp</c> (a different
/// parser from <see cref="SyslogLineParser"/>, with different header names): <c>Priority</c>, <c>Facility</c>,
/// <c>Severity</c>, <c>Version</c> (only for <c>1 </c>), <c>timestamp</c> (always), <c>host</c>.
/// </summary>
/// <remarks>
/// <para>Grammar, on the line decoded with the port's charset:</para>
/// <code>
/// line := "&lt;" PRI "&gt;" [ "1 " ] TS SP HOST SP MSG         PRI := 1*5DIGIT (the "&gt;" within the first 7 characters)
/// TS   := "-"                                        (the time of arrival)
///       | UPPER 14CHAR                               (RFC 3164, "MMM d HH:mm:ss" in UTC; "0" when it does not parse)
///       | 4DIGIT "-" 2DIGIT "-" 2DIGIT "T" 2DIGIT ":" 2DIGIT ":" 2DIGIT [ "." 1*DIGIT ] ( "Z" | ("+"|"-") 2DIGIT ":" 2DIGIT | other )
/// HOST := 1*(any but SP)                            ("-" is kept as the host)
/// </code>
/// <para>Anything else makes the whole line the body with only <c>flume.syslog.status=Invalid</c>. An empty MSG or
/// keepFields <c>all</c> keeps the whole line as body. Bytes that are not valid in the charset also give an Invalid
/// event whose body is the raw bytes.</para>
/// <para>Differences from Flume kept on purpose: RFC 3164 years follow the same window as <see cref="SyslogTime"/>
/// (Flume's multiport parser puts dates more than a month old into year 2001 and future ones into 1999); a fraction
/// without a zone at the end of the line, which throws an uncaught exception in Flume and loses the rest of the read,
/// is an Invalid event here; PRI must be digits (Flume also takes <c>+5</c> and <c>-5</c>).</para>
/// </remarks>
internal sealed class MultiportSyslogParser(SyslogKeepFields keepFields, TimeProvider clock)
{
    private const int Rfc3164Length = 15;
    private const int Rfc5424PrefixLength = 19;

    /// <summary>Parses <paramref name="line"/> decoded with <paramref name="charset"/> (a strict decoder).</summary>
    public SyslogMessage Parse(byte[] line, Encoding charset, bool incomplete)
    {
        string text;
        try
        {
            text = charset.GetString(line);
        }
        catch (DecoderFallbackException)
        {
            return Invalid(line);
        }
        var headers = new Dictionary<string, string>(8, StringComparer.Ordinal);
        if (!TryParse(text, headers, out var body))
        {
            return Invalid(charset.GetBytes(text));
        }
        if (incomplete)
        {
            headers[SyslogHeaders.Status] = SyslogHeaders.Incomplete;
        }
        return new SyslogMessage(charset.GetBytes(body), headers);
    }

    private static SyslogMessage Invalid(byte[] body) =>
        new(body, new Dictionary<string, string>(1, StringComparer.Ordinal) { [SyslogHeaders.Status] = SyslogHeaders.Invalid });

    private bool TryParse(string message, Dictionary<string, string> headers, out string body)
    {
        body = message;
        if (message.Length == 0 || message[0] != '<')
        {
            return false;
        }
        var endBracket = message.IndexOf('>');
        if (endBracket <= 1 || endBracket > 6 || !SyslogTime.TryDigits(message.AsSpan(1, endBracket - 1), out var pri))
        {
            return false;
        }
        var priority = message[1..endBracket];
        headers["Priority"] = priority;
        headers[SyslogHeaders.Facility] = (pri / 8).ToString(CultureInfo.InvariantCulture);
        headers[SyslogHeaders.Severity] = (pri % 8).ToString(CultureInfo.InvariantCulture);
        if (message.Length <= endBracket + 1)
        {
            return false;
        }
        var position = endBracket + 1;
        string? version = null;
        if (message.Length > position + 2 && message.AsSpan(position, 2).SequenceEqual("1 "))
        {
            version = "1";
            headers["Version"] = version;
            position += 2;
        }

        string timestampText;
        long timestampMs;
        var first = message[position];
        if (first == '-')
        {
            timestampText = "-";
            timestampMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (message.Length <= position + 2)
            {
                return false;
            }
            position += 2;
        }
        else if (first is >= 'A' and <= 'Z')
        {
            if (message.Length <= position + Rfc3164Length)
            {
                return false;
            }
            timestampText = message.Substring(position, Rfc3164Length);
            timestampMs = ParseRfc3164(timestampText);
            position += Rfc3164Length + 1;
        }
        else
        {
            var space = message.IndexOf(' ', position);
            if (space < 0)
            {
                return false;
            }
            timestampText = message[position..space];
            if (!TryParseRfc5424(timestampText, out timestampMs))
            {
                return false;
            }
            position = space + 1;
        }
        headers[SyslogHeaders.Timestamp] = timestampMs.ToString(CultureInfo.InvariantCulture);

        var hostEnd = message.IndexOf(' ', position);
        if (hostEnd < 0)
        {
            return false;
        }
        var host = message[position..hostEnd];
        headers[SyslogHeaders.Host] = host;
        if (message.Length > hostEnd + 1 && !keepFields.All)
        {
            body = keepFields.Prefix(priority, version, timestampText, host) + message[(hostEnd + 1)..];
        }
        return true;
    }

    /// <summary>"MMM d HH:mm:ss" in UTC (a double space before a one-digit day collapses); 0 when it does not parse, as Flume.</summary>
    private long ParseRfc3164(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3 || parts[2].Length != 8 || parts[2][2] != ':' || parts[2][5] != ':')
        {
            return 0;
        }
        var month = SyslogTime.Month(parts[0]);
        if (month == 0
            || !SyslogTime.TryDigits(parts[1], out var day) || parts[1].Length > 2
            || !SyslogTime.TryDigits(parts[2].AsSpan(0, 2), out var hour)
            || !SyslogTime.TryDigits(parts[2].AsSpan(3, 2), out var minute)
            || !SyslogTime.TryDigits(parts[2].AsSpan(6, 2), out var second))
        {
            return 0;
        }
        return SyslogTime.TryRfc3164ToEpochMs(month, day, hour, minute, second, TimeZoneInfo.Utc, clock.GetUtcNow(), out var ms) ? ms : 0;
    }

    /// <summary>Flume's <c>parseRfc5424Date</c>: 19 characters in UTC, an optional fraction scaled to milliseconds, then
    /// <c>Z</c>, an offset, or any other character (taken as UTC).</summary>
    private static bool TryParseRfc5424(string text, out long epochMs)
    {
        epochMs = 0;
        if (text.Length <= Rfc5424PrefixLength
            || !DateTime.TryParseExact(text.AsSpan(0, Rfc5424PrefixLength), "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var prefix))
        {
            return false;
        }
        epochMs = new DateTimeOffset(prefix, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var position = Rfc5424PrefixLength;
        if (text[position] == '.')
        {
            var end = position + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }
            var digits = end - (position + 1);
            if (digits == 0 || end >= text.Length)
            {
                return false;
            }
            var fraction = text.AsSpan(position + 1, Math.Min(digits, 3));
            var milliseconds = int.Parse(fraction, NumberStyles.None, CultureInfo.InvariantCulture);
            for (var i = digits; i < 3; i++)
            {
                milliseconds *= 10;
            }
            epochMs += milliseconds;
            position = end;
        }
        var zone = text[position];
        if (zone is '+' or '-')
        {
            if (text.Length <= position + 5 || !char.IsAsciiDigit(text[position + 1]) || !char.IsAsciiDigit(text[position + 2])
                || text[position + 3] != ':' || !char.IsAsciiDigit(text[position + 4]) || !char.IsAsciiDigit(text[position + 5]))
            {
                return false;
            }
            var minutes = int.Parse(text.AsSpan(position + 1, 2), CultureInfo.InvariantCulture) * 60 + int.Parse(text.AsSpan(position + 4, 2), CultureInfo.InvariantCulture);
            epochMs -= (zone == '+' ? 1 : -1) * minutes * 60_000L;
        }
        return true;
    }
}
