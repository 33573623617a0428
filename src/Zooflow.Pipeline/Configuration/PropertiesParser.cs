using System.Globalization;
using System.Text;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Configuration;

/// <summary>
/// Parses text with <c>java.util.Properties.load</c> rules, as Flume reads its configuration, keeping the file and
/// line of every key.
/// </summary>
/// <remarks>
/// Grammar (per logical line): leading whitespace (space, tab, form feed) is skipped; a line whose first character is
/// <c>#</c> or <c>!</c> is a comment; a line ending in an odd number of backslashes continues on the next natural line
/// (whose leading whitespace is skipped); the key ends at the first unescaped <c>=</c>, <c>:</c> or whitespace; then
/// whitespace and at most one <c>=</c>/<c>:</c> are skipped; the rest is the value. Escapes in keys and values:
/// <c>\uXXXX</c>, <c>\t \n \r \f</c>, and <c>\c</c> for any other character c. As Flume does, keys and values are then
/// trimmed. A duplicate key replaces the earlier one (last wins), keeping the later line.
/// </remarks>
public static class PropertiesParser
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="fileName"/> names locations (<c>flume.conf:12</c>).
    /// Malformed <c>\u</c> escapes are recorded in <paramref name="errors"/> (Java throws for them).</summary>
    public static IReadOnlyDictionary<string, ConfigValue> Parse(string text, string fileName, List<ConfigError> errors)
    {
        var result = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        var lines = SplitNaturalLines(text);
        for (var i = 0; i < lines.Count; i++)
        {
            var startLine = i + 1;
            var line = SkipLeadingWhitespace(lines[i]);
            if (line.Length == 0 || line[0] == '#' || line[0] == '!')
            {
                continue;
            }
            var logical = new StringBuilder(line);
            while (EndsWithContinuation(logical) && i + 1 < lines.Count)
            {
                logical.Length--;
                i++;
                logical.Append(SkipLeadingWhitespace(lines[i]));
            }
            if (EndsWithContinuation(logical))
            {
                logical.Length--; // a continuation at end of file is dropped, as in Java
            }
            var location = $"{fileName}:{startLine}";
            var (rawKey, rawValue) = SplitKeyValue(logical.ToString());
            var key = Unescape(rawKey, location, errors).Trim();
            var value = Unescape(rawValue, location, errors).Trim();
            if (key.Length == 0)
            {
                continue;
            }
            result.Remove(key); // re-insert so enumeration order follows the winning line
            result[key] = new ConfigValue(value, location);
        }
        return result;
    }

    private static List<string> SplitNaturalLines(string text)
    {
        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' || text[i] == '\r')
            {
                lines.Add(text[start..i]);
                if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < text.Length)
        {
            lines.Add(text[start..]);
        }
        return lines;
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\f';

    private static string SkipLeadingWhitespace(string s)
    {
        var i = 0;
        while (i < s.Length && IsWhitespace(s[i]))
        {
            i++;
        }
        return s[i..];
    }

    private static bool EndsWithContinuation(StringBuilder sb)
    {
        var count = 0;
        for (var i = sb.Length - 1; i >= 0 && sb[i] == '\\'; i--)
        {
            count++;
        }
        return count % 2 == 1;
    }

    private static (string Key, string Value) SplitKeyValue(string line)
    {
        var i = 0;
        var keyEnd = line.Length;
        var hasSeparator = false;
        while (i < line.Length)
        {
            var c = line[i];
            if (c == '\\')
            {
                i += 2;
                continue;
            }
            if (c == '=' || c == ':')
            {
                keyEnd = i;
                hasSeparator = true;
                i++;
                break;
            }
            if (IsWhitespace(c))
            {
                keyEnd = i;
                i++;
                break;
            }
            i++;
        }
        if (i > line.Length)
        {
            i = line.Length;
        }
        if (keyEnd == line.Length)
        {
            return (line, "");
        }
        while (i < line.Length && IsWhitespace(line[i]))
        {
            i++;
        }
        if (!hasSeparator && i < line.Length && (line[i] == '=' || line[i] == ':'))
        {
            i++;
            while (i < line.Length && IsWhitespace(line[i]))
            {
                i++;
            }
        }
        return (line[..keyEnd], line[i..]);
    }

    private static string Unescape(string s, string location, List<ConfigError> errors)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c != '\\' || i + 1 >= s.Length)
            {
                sb.Append(c);
                continue;
            }
            c = s[++i];
            switch (c)
            {
                case 't': sb.Append('\t'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 'f': sb.Append('\f'); break;
                case 'u':
                    if (s.Length - i - 1 >= 4 && int.TryParse(s.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        sb.Append((char)code);
                        i += 4;
                    }
                    else
                    {
                        errors.Add(new ConfigError(s, location, "malformed \\uxxxx escape (allowed: \\u followed by 4 hexadecimal digits)"));
                    }
                    break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}

/// <summary>
/// Replaces <c>${NAME}</c>, <c>${env:NAME}</c> (Flume 1.10+) and <c>${sys:NAME}</c> in values (never keys).
/// <c>${NAME}</c> resolves from the environment first (Flume 1.9's EnvVarResolverProperties), then from another
/// configuration key (Flume 1.10's <c>${key}</c>). The environment and system properties are passed in by the host;
/// this library never reads them itself.
/// </summary>
public static class PropertySubstitution
{
    /// <summary>Returns the properties with substitutions applied; undefined names are errors and left as written.</summary>
    public static IReadOnlyDictionary<string, ConfigValue> Apply(
        IReadOnlyDictionary<string, ConfigValue> properties,
        IReadOnlyDictionary<string, string> environment,
        IReadOnlyDictionary<string, string> systemProperties,
        List<ConfigError> errors)
    {
        var result = new Dictionary<string, ConfigValue>(properties.Count, StringComparer.Ordinal);
        foreach (var (key, value) in properties)
        {
            result[key] = value.Value.Contains("${", StringComparison.Ordinal)
                ? value with { Value = Substitute(key, value, properties, environment, systemProperties, errors) }
                : value;
        }
        return result;
    }

    private static string Substitute(string key, ConfigValue value, IReadOnlyDictionary<string, ConfigValue> properties,
        IReadOnlyDictionary<string, string> environment, IReadOnlyDictionary<string, string> systemProperties, List<ConfigError> errors)
    {
        var text = value.Value;
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var start = text.IndexOf("${", i, StringComparison.Ordinal);
            var end = start < 0 ? -1 : text.IndexOf('}', start + 2);
            if (start < 0 || end < 0)
            {
                sb.Append(text, i, text.Length - i);
                break;
            }
            sb.Append(text, i, start - i);
            var name = text[(start + 2)..end];
            string? resolved;
            if (name.StartsWith("env:", StringComparison.Ordinal))
            {
                resolved = environment.GetValueOrDefault(name[4..]);
            }
            else if (name.StartsWith("sys:", StringComparison.Ordinal))
            {
                resolved = systemProperties.GetValueOrDefault(name[4..]);
            }
            else
            {
                resolved = environment.GetValueOrDefault(name)
                    ?? (properties.TryGetValue(name, out var other) && !other.Value.Contains("${", StringComparison.Ordinal) ? other.Value : null);
            }
            if (resolved is null)
            {
                errors.Add(new ConfigError(key, value.Location,
                    $"'${{{name}}}' in '{text}' is not defined (allowed: an environment variable as ${{NAME}} or ${{env:NAME}}, a -D property as ${{sys:NAME}}, or another key of the file)"));
                resolved = text[start..(end + 1)];
            }
            sb.Append(resolved);
            i = end + 1;
        }
        return sb.ToString();
    }
}
