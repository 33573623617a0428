using Confluent.Kafka;
using Xunit;

namespace Zooflow.Pipeline.Kafka.Tests.Infrastructure;

/// <summary>Loss and duplicate accounting of a run: which expected items arrived, how many more than once.</summary>
internal static class Delivered
{
    /// <summary>Asserts that every expected item arrived (no loss) and returns the number of duplicates, which the
    /// test reports.</summary>
    public static int AssertNoneLost(IEnumerable<string> expected, IReadOnlyCollection<string> arrived, string what)
    {
        var counts = arrived.GroupBy(a => a, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var missing = expected.Where(e => !counts.ContainsKey(e)).ToList();
        Assert.True(missing.Count == 0, $"{what}: {missing.Count} lost, e.g. {string.Join(", ", missing.Take(10))}");
        var duplicates = counts.Values.Sum(c => c - 1);
        TestContext.Current.SendDiagnosticMessage($"{what}: {arrived.Count} arrived, {counts.Count} distinct, {duplicates} duplicates");
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {arrived.Count} arrived, {counts.Count} distinct, {duplicates} duplicates");
        return duplicates;
    }

    /// <summary>The group's committed offset per partition of <paramref name="topic"/> (-1001 = none).</summary>
    public static Dictionary<int, long> CommittedOffsets(string bootstrap, string group, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        return committed.ToDictionary(c => c.Partition.Value, c => c.Offset.Value);
    }
}
