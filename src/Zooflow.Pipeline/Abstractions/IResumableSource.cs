namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// Where a resumable source keeps how far it got (which files are done, which offset, which counter), so that another
/// instance — on this agent after a restart, or on another agent after a takeover — continues from there.
/// </summary>
/// <remarks>
/// <para><b>Contract.</b> The progress is opaque bytes whose format belongs to the source. A source calls
/// <see cref="SaveAsync"/> only after the channel transaction of the batch it describes committed (never before): a
/// crash between the commit and the save makes the next instance deliver that one batch again (at least once, at most one
/// batch twice), while a save before the commit could lose the batch.</para>
/// <para><b>Fencing.</b> A store may refuse a save because the source no longer holds the right to run (the agent lost
/// leadership of a singleton): it then throws <see cref="ProgressFencedException"/>, and the source must stop producing
/// (the runtime stops it too). Other failures (connection loss) throw other exceptions; the source may retry on its next
/// batch.</para>
/// <para><b>Limits.</b> Keep progress small (a store may refuse more than <see cref="ProgressBytesMax"/>).</para>
/// <para>Thread-safety: one source instance uses a store from one flow at a time.</para>
/// </remarks>
public interface ISourceProgressStore
{
    /// <summary>The largest progress a store must accept (512 KiB: half of ZooKeeper's default jute.maxbuffer).</summary>
    const int ProgressBytesMax = 512 * 1024;

    /// <summary>Where the progress is kept, for messages (e.g. <c>/zooflow/progress/default/ticker</c>).</summary>
    string Location { get; }

    /// <summary>The last saved progress, or null when none was ever saved.</summary>
    ValueTask<byte[]?> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Replaces the saved progress. Call only after the batch it covers committed to the channels.</summary>
    ValueTask SaveAsync(ReadOnlyMemory<byte> progress, CancellationToken cancellationToken);
}

/// <summary>A source that can continue from saved progress. The runtime sets <see cref="Progress"/> before
/// <see cref="ILifecycle.StartAsync"/> when the source runs under coordination (e.g. <c>&lt;source&gt;.singleton</c>);
/// without it the source behaves as in Flume.</summary>
public interface IResumableSource : ISource
{
    /// <summary>The store to load from at start and save to after each committed batch.</summary>
    ISourceProgressStore Progress { set; }
}

/// <summary>A progress save was refused because this source instance no longer holds the right to run.</summary>
public sealed class ProgressFencedException(string message) : Exception(message);
