using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources;
using Zooflow.Pipeline.Instrumentation;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>seq and stress (flume.md §1.1: seq batchSize 1, totalEvents; StressSource size 500, maxTotalEvents -1, ...).</summary>
public sealed class GeneratorSourceTests
{
    [Fact]
    public async Task SequencePoll_BatchOfThreeUpToSeven_DeliversDecimalCountersThenBacksOff()
    {
        var counters = new CounterRegistry();
        var source = new SequenceSource("r1", Context("a1.sources.r1.", [KeyValuePair.Create("batchSize", "3"), KeyValuePair.Create("totalEvents", "7")], counters: counters));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        var statuses = new List<ProcessStatus>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await source.PollAsync(TestContext.Current.CancellationToken));
        }

        Assert.Equal([ProcessStatus.Ready, ProcessStatus.Ready, ProcessStatus.Ready, ProcessStatus.Backoff], statuses);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6"], output.Texts());
        Assert.Equal([3, 3, 1], output.BatchSizes);
        Assert.Equal(7, counters.Source("r1").EventAcceptedCount);
        Assert.Equal(3, source.BatchSize);
    }

    [Fact]
    public async Task SequencePoll_ChannelRefusesOnce_RetriesSameBodiesWithoutGap()
    {
        var source = new SequenceSource("r1", Context("a1.sources.r1.", ("batchSize", "2"), ("totalEvents", "4")));
        var output = new RecordingOutput { FailFirst = 1 };
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        var first = await source.PollAsync(TestContext.Current.CancellationToken);
        await source.PollAsync(TestContext.Current.CancellationToken);
        await source.PollAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ProcessStatus.Backoff, first);
        Assert.Equal(["0", "1", "2", "3"], output.Texts());
    }

    [Fact]
    public async Task SequenceSource_DefaultBatchSize_IsOne()
    {
        var source = new SequenceSource("r1", Context("a1.sources.r1."));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        await source.PollAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, source.BatchSize);
        Assert.Equal(["0"], output.Texts());
    }

    [Fact]
    public async Task StressPoll_MaxTotalFiveBatchTwo_SendsFiveEventsOfSizeThenBacksOff()
    {
        var source = new StressSource("r1", Context("a1.sources.r1.", ("size", "10"), ("maxTotalEvents", "5"), ("batchSize", "2")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        var statuses = new List<ProcessStatus>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await source.PollAsync(TestContext.Current.CancellationToken));
        }

        Assert.Equal([ProcessStatus.Ready, ProcessStatus.Ready, ProcessStatus.Ready, ProcessStatus.Backoff], statuses);
        Assert.Equal(5, output.Events.Count);
        Assert.All(output.Events, e => Assert.Equal(10, e.Body.Length));
        Assert.Equal(5, source.Successful);
    }

    [Fact]
    public async Task StressPoll_RefusedBatch_CountsAsFailedAndStopsAtMaxSuccessful()
    {
        var source = new StressSource("r1", Context("a1.sources.r1.", ("maxSuccessfulEvents", "2")));
        var output = new RecordingOutput { FailFirst = 1 };
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        var statuses = new List<ProcessStatus>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await source.PollAsync(TestContext.Current.CancellationToken));
        }

        Assert.Equal([ProcessStatus.Backoff, ProcessStatus.Ready, ProcessStatus.Ready, ProcessStatus.Backoff], statuses);
        Assert.Equal(1, source.Failed);
        Assert.Equal(2, source.Successful);
        Assert.All(output.Events, e => Assert.Equal(500, e.Body.Length));
    }

    [Fact]
    public void SequenceSource_NegativeBatchSize_RecordsErrorNamingKeyAndRange()
    {
        var errors = new List<ConfigError>();
        _ = new SequenceSource("r1", Context("a1.sources.r1.", [KeyValuePair.Create("batchSize", "-1")], errors));

        var error = Assert.Single(errors);
        Assert.Equal("a1.sources.r1.batchSize", error.Key);
        Assert.Contains("allowed: 1..", error.Message);
    }
}
