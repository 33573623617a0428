using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Zooflow.Pipeline.Kafka;

/// <summary>
/// One librdkafka producer of a Kafka sink or channel, with its log and error callbacks bridged to the component:
/// librdkafka's log goes to <see cref="ILogger"/>; a broker that cannot be reached is counted through
/// the connection-failed callback on every failed attempt and logged once per outage (librdkafka keeps retrying
/// with <c>reconnect.backoff.ms</c> .. <c>reconnect.backoff.max.ms</c>).
/// </summary>
/// <remarks>Thread-safe: librdkafka's producer may be used by any number of threads.</remarks>
internal sealed class KafkaProducerClient : IDisposable
{
    private readonly ILogger _logger;
    private readonly string _component;
    private readonly Action? _onConnectionFailed;
    private int _unreachable;

    public KafkaProducerClient(string component, IReadOnlyList<KeyValuePair<string, string>> config, ILogger logger, Action? onConnectionFailed)
    {
        _component = component;
        _logger = logger;
        _onConnectionFailed = onConnectionFailed;
        Bootstrap = config.LastOrDefault(c => c.Key == "bootstrap.servers").Value ?? "";
        var linger = config.LastOrDefault(c => c.Key is "linger.ms" or "queue.buffering.max.ms").Value;
        FlushEachBatch = linger is not null && double.TryParse(linger, System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms > 0;
        Producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetLogHandler((_, message) => KafkaLog.Forward(_logger, _component, message))
            .SetErrorHandler((_, error) => OnError(error))
            .Build();
    }

    /// <summary>The producer.</summary>
    public IProducer<byte[], byte[]> Producer { get; }

    /// <summary>The bootstrap list, for messages.</summary>
    public string Bootstrap { get; }

    /// <summary>True when <c>linger.ms</c> is above zero: then each batch is flushed, as Flume does, so that linger never
    /// holds a batch back.</summary>
    public bool FlushEachBatch { get; }

    /// <summary>Marks the brokers reachable again (a batch was acknowledged), so the next outage is logged.</summary>
    public void Reachable()
    {
        if (Interlocked.Exchange(ref _unreachable, 0) == 1)
        {
            _logger.LogInformation(KafkaLog.BrokersReachable, "{Component}: Kafka brokers at {Bootstrap} are reachable again", _component, Bootstrap);
        }
    }

    private void OnError(Error error)
    {
        if (KafkaLog.IsConnectivity(error))
        {
            _onConnectionFailed?.Invoke();
            if (error.Code == ErrorCode.Local_AllBrokersDown && Interlocked.Exchange(ref _unreachable, 1) == 0)
            {
                _logger.LogError(KafkaLog.BrokersUnreachable,
                    "{Component}: no Kafka broker of {Bootstrap} can be reached ({Reason}); events stay in the channel and batches are retried with backoff until a broker answers",
                    _component, Bootstrap, error.Reason);
            }
            else
            {
                _logger.LogDebug(KafkaLog.ClientError, "{Component}: {Reason}", _component, error.Reason);
            }
            return;
        }
        _logger.Log(error.IsFatal ? LogLevel.Critical : LogLevel.Warning, KafkaLog.ClientError, "{Component}: Kafka client error {Code}: {Reason}", _component, error.Code, error.Reason);
    }

    /// <summary>Waits (off the caller's thread) until everything produced so far was sent, as Flume's
    /// <c>producer.flush()</c> before it waits for a batch's acknowledgements.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) =>
        Task.Run(() => Producer.Flush(cancellationToken), cancellationToken);

    public void Dispose() => Producer.Dispose();
}

/// <summary>
/// Collects the delivery reports of one batch: <see cref="Completion"/> finishes when every message produced for the
/// batch was acknowledged or failed. A new instance per batch, so that a late report of an abandoned batch cannot
/// count towards the next one.
/// </summary>
internal sealed class DeliveryBatch
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending = 1; // the producing flow's own hold, released by Seal()
    private int _failed;
    private DeliveryReport<byte[], byte[]>? _firstFailure;

    public DeliveryBatch()
    {
        Handler = OnDelivery;
    }

    /// <summary>The delivery handler to pass to <c>Produce</c> (one delegate per batch).</summary>
    public Action<DeliveryReport<byte[], byte[]>> Handler { get; }

    /// <summary>Completes when all reports arrived (after <see cref="Seal"/>).</summary>
    public Task Completion => _done.Task;

    /// <summary>Messages whose delivery failed.</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>The first failed delivery report, if any.</summary>
    public DeliveryReport<byte[], byte[]>? FirstFailure => Volatile.Read(ref _firstFailure);

    /// <summary>Counts one message about to be produced.</summary>
    public void Expect() => Interlocked.Increment(ref _pending);

    /// <summary>Takes back the count of a message whose <c>Produce</c> call threw (no report will come).</summary>
    public void Cancel() => Release();

    /// <summary>Ends production: <see cref="Completion"/> finishes once the outstanding reports arrived.</summary>
    public void Seal() => Release();

    private void OnDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstFailure, report, null);
        }
        Release();
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _done.TrySetResult();
        }
    }
}
