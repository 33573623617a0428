using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Interceptors;

/// <summary>Flume's <c>timestamp</c> interceptor: sets <c>headerName</c> (default <c>timestamp</c>) to the epoch
/// milliseconds of interception; <c>preserveExisting</c> (default false) keeps an existing header.</summary>
public sealed class TimestampInterceptor(string headerName, bool preserveExisting, TimeProvider clock) : IInterceptor
{
    /// <summary>Reads <c>headerName</c> and <c>preserveExisting</c>.</summary>
    public static TimestampInterceptor Create(ComponentContext context) =>
        new(context.GetString("headerName", "timestamp")!, context.GetBool("preserveExisting", false), context.Clock);

    /// <inheritdoc />
    public Event? Intercept(Event @event)
    {
        if (preserveExisting && @event.Headers.ContainsKey(headerName))
        {
            return @event;
        }
        return @event.WithHeader(headerName, clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>Flume's <c>host</c> interceptor: sets <c>hostHeader</c> (default <c>host</c>) to this host's IP address
/// (<c>useIP</c> true, the default) or host name; <c>preserveExisting</c> default false.</summary>
public sealed class HostInterceptor(string header, string host, bool preserveExisting) : IInterceptor
{
    /// <summary>Reads <c>hostHeader</c>, <c>useIP</c>, <c>preserveExisting</c>.</summary>
    public static HostInterceptor Create(ComponentContext context)
    {
        var useIp = context.GetBool("useIP", true);
        return new HostInterceptor(context.GetString("hostHeader", "host")!, LocalHost(useIp), context.GetBool("preserveExisting", false));
    }

    /// <summary>The value written into the header.</summary>
    public string Host => host;

    /// <inheritdoc />
    public Event? Intercept(Event @event) =>
        preserveExisting && @event.Headers.ContainsKey(header) ? @event : @event.WithHeader(header, host);

    private static string LocalHost(bool useIp)
    {
        var name = Dns.GetHostName();
        if (!useIp)
        {
            return name;
        }
        try
        {
            foreach (var address in Dns.GetHostAddresses(name))
            {
                if (address.AddressFamily == AddressFamily.InterNetwork)
                {
                    return address.ToString();
                }
            }
        }
        catch (SocketException)
        {
            // Unresolvable host name: fall back to loopback as Java's InetAddress.getLocalHost() does.
        }
        return IPAddress.Loopback.ToString();
    }
}

/// <summary>Flume's <c>static</c> interceptor: sets header <c>key</c> (default <c>key</c>) to <c>value</c>
/// (default <c>value</c>); <c>preserveExisting</c> default <b>true</b>.</summary>
public sealed class StaticInterceptor(string key, string value, bool preserveExisting) : IInterceptor
{
    /// <summary>Reads <c>key</c>, <c>value</c>, <c>preserveExisting</c>.</summary>
    public static StaticInterceptor Create(ComponentContext context) =>
        new(context.GetString("key", "key")!, context.GetString("value", "value")!, context.GetBool("preserveExisting", true));

    /// <inheritdoc />
    public Event? Intercept(Event @event) =>
        preserveExisting && @event.Headers.ContainsKey(key) ? @event : @event.WithHeader(key, value);
}

/// <summary>Flume's <c>remove_header</c> interceptor: removes the header <c>withName</c>, the headers in
/// <c>fromList</c> (split by <c>fromListSeparator</c>, default <c>\s*,\s*</c>) and those whose name matches
/// <c>matching</c>.</summary>
public sealed class RemoveHeaderInterceptor(string? withName, IReadOnlySet<string> fromList, Regex? matching) : IInterceptor
{
    /// <summary>Reads <c>withName</c>, <c>fromList</c>, <c>fromListSeparator</c>, <c>matching</c>.</summary>
    public static RemoveHeaderInterceptor Create(ComponentContext context)
    {
        var separator = RegexHelper.Compile(context, "fromListSeparator", @"\s*,\s*");
        var list = context.GetString("fromList");
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (list is not null && separator is not null)
        {
            foreach (var n in separator.Split(list))
            {
                if (n.Length > 0)
                {
                    names.Add(n);
                }
            }
        }
        var matching = context.GetString("matching") is null ? null : RegexHelper.Compile(context, "matching", "");
        return new RemoveHeaderInterceptor(context.GetString("withName"), names, matching);
    }

    /// <inheritdoc />
    public Event? Intercept(Event @event)
    {
        Dictionary<string, string>? copy = null;
        foreach (var name in @event.Headers.Keys)
        {
            if (name == withName || fromList.Contains(name) || (matching is not null && matching.IsMatch(name)))
            {
                copy ??= new Dictionary<string, string>(@event.Headers, StringComparer.Ordinal);
                copy.Remove(name);
            }
        }
        return copy is null ? @event : @event.WithHeaders(copy);
    }
}

/// <summary>Flume's UUID interceptor (<c>org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder</c>): sets
/// <c>headerName</c> (default <c>id</c>) to <c>prefix</c> + a random UUID; <c>preserveExisting</c> default true.</summary>
public sealed class UuidInterceptor(string headerName, string prefix, bool preserveExisting) : IInterceptor
{
    /// <summary>Reads <c>headerName</c>, <c>prefix</c>, <c>preserveExisting</c>.</summary>
    public static UuidInterceptor Create(ComponentContext context) =>
        new(context.GetString("headerName", "id")!, context.GetString("prefix", "")!, context.GetBool("preserveExisting", true));

    /// <inheritdoc />
    public Event? Intercept(Event @event) =>
        preserveExisting && @event.Headers.ContainsKey(headerName) ? @event : @event.WithHeader(headerName, prefix + Guid.NewGuid().ToString());
}

/// <summary>Flume's <c>regex_filter</c>: keeps events whose UTF-8 body contains a match of <c>regex</c> (default
/// <c>.*</c>, Java's <c>find()</c>), or drops them when <c>excludeEvents</c> is true.</summary>
public sealed class RegexFilterInterceptor(Regex regex, bool excludeEvents) : IInterceptor
{
    /// <summary>Reads <c>regex</c> and <c>excludeEvents</c>.</summary>
    public static RegexFilterInterceptor Create(ComponentContext context) =>
        new(RegexHelper.Compile(context, "regex", ".*") ?? new Regex(".*"), context.GetBool("excludeEvents", false));

    /// <inheritdoc />
    public Event? Intercept(Event @event)
    {
        var matched = regex.IsMatch(Encoding.UTF8.GetString(@event.Body.Span));
        return matched != excludeEvents ? @event : null;
    }
}

/// <summary>Flume's <c>regex_extractor</c>: finds <c>regex</c> in the UTF-8 body and sets, for each group i, the header
/// <c>serializers.&lt;si&gt;.name</c> to the group (pass-through) or to epoch milliseconds
/// (<c>org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer</c> with a Joda <c>pattern</c>).</summary>
public sealed class RegexExtractorInterceptor(Regex regex, IReadOnlyList<(string Name, Func<string, string?> Serialize)> serializers) : IInterceptor
{
    private const string MillisSerializer = "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer";

    /// <summary>Reads <c>regex</c>, <c>serializers</c> and <c>serializers.*</c>.</summary>
    public static RegexExtractorInterceptor Create(ComponentContext context)
    {
        var regex = RegexHelper.Compile(context, "regex", null);
        var list = new List<(string, Func<string, string?>)>();
        var names = context.GetRequiredString("serializers");
        foreach (var s in names.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var headerName = context.GetRequiredString($"serializers.{s}.name");
            var type = context.GetString($"serializers.{s}.type", "default")!;
            if (string.Equals(type, "default", StringComparison.OrdinalIgnoreCase))
            {
                list.Add((headerName, v => v));
            }
            else if (type == MillisSerializer || string.Equals(type, "millis", StringComparison.OrdinalIgnoreCase))
            {
                var pattern = context.GetRequiredString($"serializers.{s}.pattern");
                var format = JodaToDotNet(pattern);
                list.Add((headerName, v => DateTime.TryParseExact(v, format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var t)
                    ? new DateTimeOffset(t).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)
                    : null));
            }
            else
            {
                context.AddError($"serializers.{s}.type", $"'{type}' is not a known serializer (allowed: default, {MillisSerializer})");
            }
        }
        if (regex is null && !context.Properties.ContainsKey("regex"))
        {
            context.AddError("regex", "is required but not set");
        }
        return new RegexExtractorInterceptor(regex ?? new Regex("(?!)"), list);
    }

    /// <inheritdoc />
    public Event? Intercept(Event @event)
    {
        var match = regex.Match(Encoding.UTF8.GetString(@event.Body.Span));
        if (!match.Success)
        {
            return @event;
        }
        Dictionary<string, string>? headers = null;
        for (var group = 1; group < match.Groups.Count && group <= serializers.Count; group++)
        {
            var (name, serialize) = serializers[group - 1];
            var value = serialize(match.Groups[group].Value);
            if (value is not null)
            {
                headers ??= new Dictionary<string, string>(@event.Headers, StringComparer.Ordinal);
                headers[name] = value;
            }
        }
        return headers is null ? @event : @event.WithHeaders(headers);
    }

    /// <summary>Translates the Joda-Time pattern letters that differ (S → f, Z → zzz) into a .NET format.</summary>
    internal static string JodaToDotNet(string pattern) => pattern.Replace('S', 'f').Replace("Z", "zzz", StringComparison.Ordinal);
}

/// <summary>Flume's <c>search_replace</c>: replaces every match of <c>searchPattern</c> in the body (decoded with
/// <c>charset</c>, default UTF-8) with <c>replaceString</c> (Java <c>Matcher.replaceAll</c> syntax: <c>$1</c>, <c>\$</c>).</summary>
public sealed class SearchReplaceInterceptor(Regex search, string replacement, Encoding charset) : IInterceptor
{
    /// <summary>Reads <c>searchPattern</c>, <c>replaceString</c>, <c>charset</c>.</summary>
    public static SearchReplaceInterceptor Create(ComponentContext context)
    {
        var search = RegexHelper.Compile(context, "searchPattern", null);
        if (search is null && !context.Properties.ContainsKey("searchPattern"))
        {
            context.AddError("searchPattern", "is required but not set (a Java regular expression)");
        }
        var replace = context.GetString("replaceString");
        if (replace is null)
        {
            context.AddError("replaceString", "is required but not set (the replacement, may use $1 for groups)");
        }
        var charsetName = context.GetString("charset", "UTF-8")!;
        Encoding charset;
        try
        {
            charset = Encoding.GetEncoding(charsetName);
        }
        catch (ArgumentException)
        {
            context.AddError("charset", $"'{charsetName}' is not a known charset (allowed: UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-32)");
            charset = Encoding.UTF8;
        }
        return new SearchReplaceInterceptor(search ?? new Regex("(?!)"), JavaReplacement(replace ?? ""), charset);
    }

    /// <inheritdoc />
    public Event? Intercept(Event @event)
    {
        var body = charset.GetString(@event.Body.Span);
        var replaced = search.Replace(body, replacement);
        return ReferenceEquals(body, replaced) || body == replaced ? @event : new Event(charset.GetBytes(replaced), @event.Headers);
    }

    /// <summary>Java replacement syntax (<c>\x</c> literal, <c>$n</c>, <c>${name}</c>) to .NET (<c>$$</c> for a literal $).</summary>
    internal static string JavaReplacement(string java)
    {
        var sb = new StringBuilder(java.Length);
        for (var i = 0; i < java.Length; i++)
        {
            var c = java[i];
            if (c == '\\' && i + 1 < java.Length)
            {
                var next = java[++i];
                sb.Append(next == '$' ? "$$" : next.ToString());
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}

internal static class RegexHelper
{
    public static Regex? Compile(ComponentContext context, string key, string? defaultPattern)
    {
        var pattern = context.GetString(key, defaultPattern);
        if (pattern is null)
        {
            return null;
        }
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);
        }
        catch (ArgumentException ex)
        {
            context.AddError(key, $"'{pattern}' is not a valid regular expression ({ex.Message})");
            return null;
        }
    }
}
