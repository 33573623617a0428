namespace Zooflow.Pipeline.Abstractions;

/// <summary>The kinds of configurable component, named as in Flume's property keys.</summary>
public enum ComponentKind
{
    /// <summary><c>&lt;agent&gt;.sources.&lt;name&gt;</c></summary>
    Source,
    /// <summary><c>&lt;agent&gt;.channels.&lt;name&gt;</c></summary>
    Channel,
    /// <summary><c>&lt;agent&gt;.sinks.&lt;name&gt;</c></summary>
    Sink,
    /// <summary><c>...sources.&lt;s&gt;.interceptors.&lt;name&gt;</c></summary>
    Interceptor,
}

/// <summary>
/// A component type the agent can build: its Flume alias (matched case-insensitively), the Java class names that map
/// to it (so Flume configurations run unchanged), extra friendly aliases, and a factory. The factory reads the
/// component's properties through the context, records every problem there (never throws for bad configuration) and
/// returns the component; the runtime discards it when errors were recorded.
/// </summary>
/// <param name="Kind">Source, channel, sink or interceptor.</param>
/// <param name="Alias">Flume's alias, e.g. <c>netcat</c>, <c>file_roll</c>.</param>
/// <param name="Aliases">Java fully-qualified class names and friendly names that also select this type.</param>
/// <param name="Create">Builds the component for the given name from its context.</param>
public sealed record ComponentType(ComponentKind Kind, string Alias, IReadOnlyList<string> Aliases, Func<string, ComponentContext, object> Create);
