using System.Text;

namespace Zooflow.Consensus.Tests;

internal static class TestData
{
    public static LogEntry Entry(long epoch, long counter, string value = "") =>
        new(Zxid.Make(epoch, counter), Encoding.UTF8.GetBytes(value.Length > 0 ? value : $"{epoch}.{counter}"));

    /// <summary>A storage holding <paramref name="entries"/> with the given epochs.</summary>
    public static MemoryStorage Stored(long acceptedEpoch, long currentEpoch, params LogEntry[] entries)
    {
        var storage = new MemoryStorage();
        storage.Persist(new Ready { Entries = entries, HardState = new HardState(acceptedEpoch, currentEpoch), Status = default });
        return storage;
    }

    public static string Text(LogEntry e) => Encoding.UTF8.GetString(e.Data.Span);
}
