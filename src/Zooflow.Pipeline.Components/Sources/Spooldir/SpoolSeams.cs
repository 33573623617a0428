using Zooflow.Pipeline.Components.Sources.Files;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>A file in the spooling directory, as found when it was picked up.</summary>
/// <param name="Path">Absolute path.</param>
/// <param name="RelativePath">Path relative to the spooling directory (<c>/</c>-separated), the name the progress store
/// and the tracker directory use.</param>
/// <param name="Key">Device and inode when it was opened.</param>
/// <param name="Size">Size in bytes when it was opened.</param>
/// <param name="ModifiedNs">Modification time when it was opened (ns since the Unix epoch).</param>
public sealed record SpoolFile(string Path, string RelativePath, FileKey Key, long Size, long ModifiedNs);

/// <summary>Where reading a spooled file resumes: a byte offset, plus for block formats (Avro) the records of the block
/// starting there that were already delivered.</summary>
/// <param name="Offset">Byte offset (line format: the next line; Avro: the sync marker before the block, as Flume stores it).</param>
/// <param name="RecordsIntoBlock">Avro only: records of that block already delivered (0 for line files).</param>
public readonly record struct SpoolPosition(long Offset, long RecordsIntoBlock)
{
    /// <summary>The start of a file.</summary>
    public static SpoolPosition Start => default;

    /// <inheritdoc />
    public override string ToString() => RecordsIntoBlock == 0 ? $"byte {Offset}" : $"byte {Offset} + {RecordsIntoBlock} records";
}

/// <summary>The file a progress store was working on, read back at start.</summary>
/// <param name="Path">Absolute path of the file.</param>
/// <param name="Position">Its last committed position.</param>
/// <param name="Inode">Its inode when recorded, if the store knows it (null for a Flume-written record).</param>
public sealed record SpoolProgress(string Path, SpoolPosition Position, ulong? Inode);

/// <summary>
/// Where a spooling directory source keeps its progress: the position in the file being read (saved after every channel
/// commit) and which files are finished. The local implementation (<see cref="LocalSpoolProgressStore"/>, the default)
/// keeps Flume's tracker directory; a coordinated implementation can keep the same facts in ZooKeeper so that another
/// agent resumes a singleton's work with at most one batch delivered twice.
/// </summary>
/// <remarks>
/// <para>Contract: the source calls these from one loop, in this order per file: <see cref="BeginAsync"/>, then
/// <see cref="SaveAsync"/> after each committed batch, then exactly one of <see cref="CompleteAsync"/> (after the file
/// was renamed or deleted as configured) or <see cref="SetAsideAsync"/>. A save must be persistent against a crash of the
/// process when it returns (the local store writes to the page cache; a ZooKeeper store would wait for the write's
/// reply): the position saved is the resume point, so whatever was committed after the last save is delivered again.</para>
/// <para>Errors: an <see cref="IOException"/> from a save stops reading the file (it is resumed from the last saved
/// position on the next attempt); the source logs it and backs off.</para>
/// </remarks>
public interface ISpoolProgressStore : IAsyncDisposable
{
    /// <summary>The file that was in progress when the source last stopped (or crashed), or null.</summary>
    ValueTask<SpoolProgress?> InProgressAsync(CancellationToken cancellationToken);

    /// <summary>Relative paths of files recorded as finished (completed or set aside) by the store itself; they are not
    /// candidates. Files renamed with the completed or failed suffix are excluded by their name and need not be listed.</summary>
    ValueTask<IReadOnlySet<string>> FinishedAsync(CancellationToken cancellationToken);

    /// <summary>Starts reading <paramref name="file"/>; returns where to resume (its saved position when the store's file
    /// in progress is this one, else the start).</summary>
    ValueTask<SpoolPosition> BeginAsync(SpoolFile file, CancellationToken cancellationToken);

    /// <summary>Records that everything before <paramref name="position"/> in <paramref name="file"/> was committed.</summary>
    ValueTask SaveAsync(SpoolFile file, SpoolPosition position, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="file"/> was read completely (and renamed or deleted as configured).</summary>
    ValueTask CompleteAsync(SpoolFile file, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="file"/> was set aside because of <paramref name="reason"/>.</summary>
    ValueTask SetAsideAsync(SpoolFile file, string reason, CancellationToken cancellationToken);
}

/// <summary>
/// Decides which spooled files this source may take. The default (<see cref="AllFilesClaimer"/>) takes every file; a
/// coordinated claimer lets several agents share one spooling directory (each file claimed by one of them, e.g. with an
/// ephemeral znode) or run the source as a singleton.
/// </summary>
/// <remarks>Called from the source's loop only. A claim is held from <see cref="TryClaimAsync"/> returning true until
/// <see cref="ReleaseAsync"/>, which the source calls once the file is completed, set aside, or the source stops.</remarks>
public interface ISpoolFileClaimer
{
    /// <summary>Whether this source may read <paramref name="file"/> now; true claims it.</summary>
    ValueTask<bool> TryClaimAsync(SpoolFile file, CancellationToken cancellationToken);

    /// <summary>Gives up the claim on <paramref name="file"/>.</summary>
    ValueTask ReleaseAsync(SpoolFile file, CancellationToken cancellationToken);
}

/// <summary>The default claimer: every file may be taken (one agent per spooling directory, as in Flume).</summary>
public sealed class AllFilesClaimer : ISpoolFileClaimer
{
    /// <summary>The shared instance (stateless).</summary>
    public static AllFilesClaimer Instance { get; } = new();

    /// <inheritdoc />
    public ValueTask<bool> TryClaimAsync(SpoolFile file, CancellationToken cancellationToken) => ValueTask.FromResult(true);

    /// <inheritdoc />
    public ValueTask ReleaseAsync(SpoolFile file, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// What a spooling directory source plugs in besides its configuration; the coordination layer supplies its own.
/// </summary>
/// <param name="ProgressStore">Creates the progress store from the validated settings; null = the local tracker
/// directory (<see cref="LocalSpoolProgressStore"/>).</param>
/// <param name="Claimer">Which files may be taken; null = all.</param>
/// <param name="Random">The randomness of <c>consumeOrder = random</c>; null = a new unseeded one.</param>
public sealed record SpoolDirectorySeams(
    Func<SpoolDirectorySettings, ISpoolProgressStore>? ProgressStore = null,
    ISpoolFileClaimer? Claimer = null,
    Random? Random = null)
{
    /// <summary>Local progress, all files, unseeded randomness.</summary>
    public static SpoolDirectorySeams Default { get; } = new();
}
