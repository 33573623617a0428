using System.Globalization;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>The header names and status values Flume's syslog sources write (<c>SyslogUtils</c>).</summary>
public static class SyslogHeaders
{
    /// <summary><c>Facility</c>: PRI / 8.</summary>
    public const string Facility = "Facility";

    /// <summary><c>Severity</c>: PRI % 8.</summary>
    public const string Severity = "Severity";

    /// <summary><c>timestamp</c>: epoch milliseconds of the message's TIMESTAMP field.</summary>
    public const string Timestamp = "timestamp";

    /// <summary><c>host</c>: the HOSTNAME field.</summary>
    public const string Host = "host";

    /// <summary><c>flume.syslog.status</c>: <see cref="Invalid"/> or <see cref="Incomplete"/> when the line is flawed.</summary>
    public const string Status = "flume.syslog.status";

    /// <summary>The line has no valid <c>&lt;PRI&gt;</c> (or could not be parsed at all): the body is the raw line.</summary>
    public const string Invalid = "Invalid";

    /// <summary>The line was longer than eventSize: the body holds its first eventSize bytes, the rest follows as more events.</summary>
    public const string Incomplete = "Incomplete";
}

/// <summary>
/// <c>keepFields</c>: which header fields stay in the body as well. <c>none</c> (or the deprecated <c>false</c>, the
/// default) keeps only the MSG part; <c>all</c> (<c>true</c>) keeps the whole line; otherwise a list of
/// <c>priority version timestamp hostname</c>, which are put back in front of the MSG in RFC order.
/// </summary>
internal sealed record SyslogKeepFields(bool All, bool Priority, bool Version, bool Timestamp, bool Hostname)
{
    /// <summary>Keep nothing (Flume's default).</summary>
    public static readonly SyslogKeepFields None = new(false, false, false, false, false);

    /// <summary>Reads <c>keepFields</c>; an unknown word is a configuration error (Flume silently ignores it).</summary>
    public static SyslogKeepFields FromContext(ComponentContext context)
    {
        var raw = context.GetString("keepFields");
        if (raw is null)
        {
            return None;
        }
        var value = raw.Trim().ToLowerInvariant();
        switch (value)
        {
            case "none" or "false":
                return None;
            case "all" or "true":
                return new SyslogKeepFields(true, false, false, false, false);
        }
        bool priority = false, version = false, timestamp = false, hostname = false;
        foreach (var word in value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries))
        {
            switch (word)
            {
                case "priority": priority = true; break;
                case "version": version = true; break;
                case "timestamp": timestamp = true; break;
                case "hostname": hostname = true; break;
                default:
                    context.AddError("keepFields", $"'{raw}': '{word}' is not a syslog field (allowed: none, all, or a list of priority, version, timestamp, hostname)");
                    return None;
            }
        }
        return new SyslogKeepFields(false, priority, version, timestamp, hostname);
    }

    /// <summary>
    /// Flume's <c>addFieldsToBody</c>: <c>&lt;PRI&gt;VERSION TIMESTAMP HOSTNAME MSG</c> with only the kept fields.
    /// Fields absent from the line (<c>-</c>) are kept as <c>-</c> (Flume writes the Java string <c>null</c>).
    /// </summary>
    public string Prefix(string priority, string? version, string? timestamp, string? hostname)
    {
        if (!(Priority || Version || Timestamp || Hostname))
        {
            return "";
        }
        var prefix = new System.Text.StringBuilder();
        if (Priority)
        {
            prefix.Append('<').Append(priority).Append('>');
        }
        if (Version && !string.IsNullOrEmpty(version))
        {
            prefix.Append(version).Append(' ');
        }
        if (Timestamp)
        {
            prefix.Append(timestamp ?? "-").Append(' ');
        }
        if (Hostname)
        {
            prefix.Append(hostname ?? "-").Append(' ');
        }
        return prefix.ToString();
    }
}

/// <summary>Timestamp arithmetic shared by the syslog parsers.</summary>
internal static class SyslogTime
{
    private static readonly string[] MonthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>The month (1..12) of a three-letter English month name (any case), or 0.</summary>
    public static int Month(ReadOnlySpan<char> name)
    {
        for (var i = 0; i < MonthNames.Length; i++)
        {
            if (name.Equals(MonthNames[i], StringComparison.OrdinalIgnoreCase))
            {
                return i + 1;
            }
        }
        return 0;
    }

    /// <summary>Epoch milliseconds of a wall-clock time in <paramref name="zone"/>; a time skipped by a DST change
    /// moves forward an hour (as Java's lenient calendar does).</summary>
    public static long ToEpochMs(DateTime wallClock, TimeZoneInfo zone)
    {
        var unspecified = DateTime.SpecifyKind(wallClock, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(unspecified))
        {
            unspecified = unspecified.AddHours(1);
        }
        var utc = TimeZoneInfo.ConvertTimeToUtc(unspecified, zone);
        return new DateTimeOffset(utc, TimeSpan.Zero).ToUnixTimeMilliseconds();
    }

    /// <summary>
    /// RFC 3164 timestamps have no year. As Flume's <c>SyslogUtils</c>: take the current year, then move the date a year
    /// back when it would be more than a month in the future, or a year forward when it would be more than eleven months
    /// in the past (a rolling window of eleven months back, one month ahead). Returns false for an impossible date.
    /// </summary>
    public static bool TryRfc3164ToEpochMs(int month, int day, int hour, int minute, int second, TimeZoneInfo zone, DateTimeOffset now, out long epochMs)
    {
        epochMs = 0;
        var year = now.UtcDateTime.Year;
        if (month is < 1 or > 12 || hour > 23 || minute > 59 || second > 60 || day < 1 || day > 31)
        {
            return false;
        }
        if (day > DateTime.DaysInMonth(year, month))
        {
            // Feb 29 outside a leap year: try the nearest years the window allows.
            if (!(month == 2 && day == 29))
            {
                return false;
            }
        }
        var nowMs = now.ToUnixTimeMilliseconds();
        DateTime At(int y) => new DateTime(y, month, Math.Min(day, DateTime.DaysInMonth(y, month)), hour, minute, 0).AddSeconds(second);
        var candidate = At(year);
        var ms = ToEpochMs(candidate, zone);
        if (ms > nowMs && ToEpochMs(candidate.AddMonths(-1), zone) > nowMs)
        {
            candidate = At(year - 1);
        }
        else if (ms < nowMs && ToEpochMs(candidate.AddMonths(11), zone) < nowMs)
        {
            candidate = At(year + 1);
        }
        epochMs = ToEpochMs(candidate, zone);
        return true;
    }

    /// <summary>Parses <c>d+</c> in <paramref name="text"/>; false when empty or not digits.</summary>
    public static bool TryDigits(ReadOnlySpan<char> text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
