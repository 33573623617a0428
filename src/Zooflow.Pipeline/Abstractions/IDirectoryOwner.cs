namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// Optional interface of a created (not yet started) component that keeps files in directories of its own, such as the
/// file channel's <c>checkpointDir</c> and <c>dataDirs</c>. Validation refuses a configuration in which two components
/// of one agent own the same directory (Flume lets two file channels with the default <c>~/.flume/file-channel</c>
/// directories collide at start-up; we name both keys before anything starts).
/// </summary>
public interface IDirectoryOwner
{
    /// <summary>Every directory the component writes, with the key it came from (relative to the component, e.g.
    /// <c>dataDirs</c>). Paths are absolute; a key's default counts as if it were written.</summary>
    IReadOnlyList<OwnedDirectory> OwnedDirectories { get; }
}

/// <summary>A directory a component owns.</summary>
/// <param name="Key">The property key, relative to the component (e.g. <c>checkpointDir</c>).</param>
/// <param name="Path">The absolute directory path.</param>
public readonly record struct OwnedDirectory(string Key, string Path);

/// <summary>
/// Marker for a channel whose events survive a stop and a process crash (the file channel): when the host replaces such
/// an instance (reload with changed settings), the events stay on disk for the next instance instead of being dropped.
/// </summary>
public interface IDurableChannel : IChannel;
