namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// Optional interface for a created (not yet started) source or sink that moves events in batches. Validation compares
/// <see cref="BatchSize"/> with the connected channel's transaction capacity (Flume's rule since 1.9, FLUME-3246: a
/// source's or sink's batch size above the channel's <c>transactionCapacity</c> is a configuration error).
/// </summary>
public interface IBatchSized
{
    /// <summary>The largest number of events the component puts or takes in one transaction.</summary>
    int BatchSize { get; }

    /// <summary>The property key the batch size was read from (e.g. <c>batchSize</c>, <c>sink.batchSize</c>,
    /// <c>batch-size</c>), named in the error message.</summary>
    string BatchSizeKey => "batchSize";
}

/// <summary>Optional interface for a channel that limits the events of one transaction (Flume's transactionCapacity).</summary>
public interface ITransactionCapacity
{
    /// <summary>The largest number of puts or takes in one transaction.</summary>
    int TransactionCapacity { get; }
}
