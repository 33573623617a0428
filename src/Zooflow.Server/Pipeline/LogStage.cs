using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Zooflow.Server.Pipeline;

/// <summary>
/// The log stage: a single-reader loop over a bounded channel of transactions. It takes everything queued (up to
/// <see cref="BatchMax"/>), appends it as one batch (one group-commit fsync in a durable log), and hands the batch to
/// <c>onDurable</c> in order. Ordering: batches are acknowledged in the order their transactions were queued.
/// Shutdown: complete the input (<see cref="Complete"/>) and await <see cref="Completion"/>.
/// </summary>
internal sealed class LogStage
{
    /// <summary>Transactions per append; bounds the latency one fsync adds to the first of them.</summary>
    public const int BatchMax = 1000;

    private readonly Channel<LoggedTxn> _input;
    private readonly ITxnLog _log;
    private readonly Action<IReadOnlyList<LoggedTxn>> _onDurable;
    private readonly Action<IReadOnlyList<LoggedTxn>, Exception> _onFailed;
    private int _failedEpoch = -1;
    private Exception? _lastFailure;
    private readonly ILogger _logger;

    public LogStage(ITxnLog log, int capacity, Action<IReadOnlyList<LoggedTxn>> onDurable, Action<IReadOnlyList<LoggedTxn>, Exception> onFailed, ILogger logger)
    {
        _log = log;
        _onDurable = onDurable;
        _onFailed = onFailed;
        _logger = logger;
        // Capacity is the state machine's in-flight limit, so TryWrite from the state machine never fails.
        _input = Channel.CreateBounded<LoggedTxn>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        Completion = Task.CompletedTask;
    }

    /// <summary>Completes when the loop has drained and stopped.</summary>
    public Task Completion { get; private set; }

    /// <summary>Starts the loop.</summary>
    public void Start(CancellationToken cancellationToken) => Completion = Task.Run(() => RunAsync(cancellationToken), CancellationToken.None);

    /// <summary>Queues a transaction. Returns false only if the in-flight limit was broken (programmer error) or the stage stopped.</summary>
    public bool TryAppend(LoggedTxn txn) => _input.Writer.TryWrite(txn);

    /// <summary>Stops taking transactions; the loop drains what is queued and ends.</summary>
    public void Complete() => _input.Writer.TryComplete();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _input.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var batch = new List<LoggedTxn>();
                List<LoggedTxn>? refused = null;
                while (batch.Count < BatchMax && _input.Reader.TryRead(out var txn))
                {
                    if (txn.Epoch <= _failedEpoch)
                    {
                        // Prepared on top of a transaction that failed to append: refuse it too, in order.
                        (refused ??= []).Add(txn);
                    }
                    else
                    {
                        batch.Add(txn);
                    }
                }

                if (refused is not null)
                {
                    _onFailed(refused, _lastFailure!);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                try
                {
                    await _log.AppendAsync(batch, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    ServerLog.LogFailed(_logger, batch.Count, batch[0].Header.Zxid, ex);
                    _failedEpoch = Math.Max(_failedEpoch, batch[^1].Epoch);
                    _lastFailure = ex;
                    _onFailed(batch, ex);
                    continue;
                }

                _onDurable(batch);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
