using System.Threading.Channels;
using Zooflow.DataTree;

namespace Zooflow.Server.Pipeline;

/// <summary>What every server host (standalone or ensemble member) feeds the state machine loop besides requests:
/// periodic work items, and actions that must run on the loop because it owns the tree.</summary>
internal static class LoopTimers
{
    /// <summary>Writes <paramref name="work"/> into the inbox every <paramref name="period"/> until cancelled. Never
    /// blocks on a full inbox: a skipped tick is made up by the next one.</summary>
    public static async Task RunAsync(ChannelWriter<Work> inbox, Work work, TimeSpan period, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                inbox.TryWrite(work);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Runs <paramref name="action"/> on the loop (e.g. a fuzzy snapshot copying a chunk of nodes between
    /// transactions). Completes when the action ran.</summary>
    public static async Task RunOnLoopAsync(ChannelWriter<Work> inbox, Action<ZnodeTree> action, CancellationToken cancellationToken)
    {
        var work = new QueryWork(machine =>
        {
            action(machine.Tree);
            return string.Empty;
        });
        await inbox.WriteAsync(work, cancellationToken).ConfigureAwait(false);
        await work.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
