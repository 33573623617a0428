using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sinks;

/// <summary>Flume's <c>null</c> sink: takes batches of <c>batchSize</c> (default 100) and discards them.</summary>
public sealed class NullSink : BatchSink
{
    /// <summary>Reads <c>batchSize</c>.</summary>
    public NullSink(string name, ComponentContext context) : base(name, context.GetInt("batchSize", 100, 1, 1_000_000), context)
    {
    }

    /// <inheritdoc />
    protected override void Write(Event @event)
    {
    }
}
