using System.Text;

namespace Zooflow.Pipeline.Kafka;

/// <summary>
/// The Kafka sink's <c>kafka.topic</c> with Flume's header escapes: <c>%{name}</c> is replaced by the event's header
/// <c>name</c> (empty when the header is absent, as Flume's <c>BucketPath</c>). A topic without escapes is resolved once.
/// </summary>
/// <remarks>Flume's time escapes (<c>%Y</c>, <c>%m</c>, ...) are not supported in topic names; the options report them.</remarks>
public sealed class TopicTemplate
{
    private readonly string[] _literals;
    private readonly string[] _headers;

    private TopicTemplate(string template, string[] literals, string[] headers)
    {
        Template = template;
        _literals = literals;
        _headers = headers;
    }

    /// <summary>The template as configured.</summary>
    public string Template { get; }

    /// <summary>True when the template has no escapes (one topic for every event).</summary>
    public bool IsStatic => _headers.Length == 0;

    /// <summary>Parses <paramref name="template"/>; an unterminated <c>%{</c> stays literal.</summary>
    public static TopicTemplate Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var literals = new List<string>();
        var headers = new List<string>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            if (template[i] == '%' && i + 1 < template.Length && template[i + 1] == '{')
            {
                var end = template.IndexOf('}', i + 2);
                if (end > i + 2)
                {
                    literals.Add(literal.ToString());
                    literal.Clear();
                    headers.Add(template[(i + 2)..end]);
                    i = end + 1;
                    continue;
                }
            }
            literal.Append(template[i]);
            i++;
        }
        literals.Add(literal.ToString());
        return new TopicTemplate(template, [.. literals], [.. headers]);
    }

    /// <summary>True when the template uses one of Flume's time escapes (<c>%</c> followed by a letter).</summary>
    public bool HasTimeEscape()
    {
        foreach (var literal in _literals)
        {
            for (var i = 0; i + 1 < literal.Length; i++)
            {
                if (literal[i] == '%' && char.IsAsciiLetter(literal[i + 1]))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The topic for an event with <paramref name="headers"/>.</summary>
    public string Resolve(IReadOnlyDictionary<string, string> headers)
    {
        if (IsStatic)
        {
            return Template;
        }
        var sb = new StringBuilder(Template.Length + 16);
        for (var i = 0; i < _headers.Length; i++)
        {
            sb.Append(_literals[i]);
            if (headers.TryGetValue(_headers[i], out var value))
            {
                sb.Append(value);
            }
        }
        sb.Append(_literals[^1]);
        return sb.ToString();
    }
}
