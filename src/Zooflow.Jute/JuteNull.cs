using System.Diagnostics.CodeAnalysis;

namespace Zooflow.Jute;

/// <summary>
/// Keeps jute's null buffer (length -1) distinct from an empty one without making every <c>byte[]</c> field nullable.
/// </summary>
/// <remarks>
/// ZooKeeper stores a znode created with null data as null: <c>getData</c> then answers with length -1 and the Java client
/// returns null, and the transaction log holds -1 as well. <see cref="JuteReader.ReadBuffer"/> returns the
/// <see cref="Buffer"/> instance for length -1 and <see cref="JuteWriter"/> writes that instance back as -1, so null data
/// survives a round trip through the records, the DataTree and the log as long as the array reference is kept (it is an
/// ordinary empty array for everything else: <c>Length == 0</c>).
/// </remarks>
public static class JuteNull
{
    /// <summary>The empty array that stands for a null buffer. Never write into it (it has no elements anyway).</summary>
    public static readonly byte[] Buffer = new byte[0];

    /// <summary>True when <paramref name="bytes"/> is null or the <see cref="Buffer"/> sentinel.</summary>
    public static bool IsNull([NotNullWhen(false)] byte[]? bytes) => bytes is null || ReferenceEquals(bytes, Buffer);
}
