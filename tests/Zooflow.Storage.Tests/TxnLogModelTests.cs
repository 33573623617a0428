using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Randomised operation sequences (concurrent appends with zxid gaps, rolls, truncate-after, purge, clean reopen, and a
/// crash that tears the newest segment at a random offset) checked after every step against a plain list model.
/// The seed is printed on failure.
/// </summary>
public sealed class TxnLogModelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task RandomOperations_AlwaysMatchModel(int seed)
    {
        var random = new Random(seed);
        using var dir = new TempDirectory();
        var options = Options(dir.Path, segmentBytes: 1024, preallocateBytes: 2048);
        var model = new List<(long Zxid, byte[] Payload)>();
        var log = TxnLog.Open(options);
        try
        {
            for (var step = 0; step < 150; step++)
            {
                var operation = random.Next(100);
                var what = "append";
                if (operation < 60)
                {
                    var count = random.Next(1, 30);
                    var appends = new List<Task>(count);
                    var next = model.Count == 0 ? log.LastZxid : model[^1].Zxid;
                    for (var i = 0; i < count; i++)
                    {
                        next += random.Next(1, 4);
                        var payload = new byte[random.Next(0, 120)];
                        random.NextBytes(payload);
                        model.Add((next, payload));
                        appends.Add(log.AppendAsync(next, payload, Ct).AsTask());
                    }

                    await Task.WhenAll(appends);
                }
                else if (operation < 67)
                {
                    what = "roll";
                    log.RollSegment();
                }
                else if (operation < 75 && model.Count > 0)
                {
                    var keep = model[random.Next(model.Count)].Zxid - random.Next(0, 2);
                    what = $"truncateAfter {keep}";
                    log.TruncateAfter(keep);
                    model.RemoveAll(r => r.Zxid > keep);
                }
                else if (operation < 82 && model.Count > 0)
                {
                    var zxid = model[random.Next(model.Count)].Zxid;
                    what = $"purge {zxid}";
                    var segments = log.Segments;
                    var keepFrom = segments.ToList().FindLastIndex(s => s.StartZxid <= zxid);
                    log.PurgeSegmentsBefore(zxid);
                    if (keepFrom > 0)
                    {
                        model.RemoveAll(r => r.Zxid < segments[keepFrom].StartZxid);
                    }
                }
                else if (operation < 90)
                {
                    what = "reopen";
                    await log.DisposeAsync();
                    log = TxnLog.Open(options);
                    Assert.True(log.Recovery.IsClean, $"seed {seed} step {step}: clean reopen repaired {string.Join("; ", log.Recovery.Truncations)}");
                }
                else if (model.Count > 0)
                {
                    // Crash: the newest segment loses a random-length tail.
                    var last = log.Segments[^1];
                    await log.DisposeAsync();
                    var cut = random.NextInt64(LogFormatHeaderBytes, last.EndOffset + 1);
                    what = $"tear {Path.GetFileName(last.Path)} at {cut} of {last.EndOffset}";
                    using (var stream = new FileStream(last.Path, FileMode.Open))
                    {
                        stream.SetLength(cut);
                    }

                    long offset = LogFormatHeaderBytes;
                    model.RemoveAll(r =>
                    {
                        if (r.Zxid < last.StartZxid)
                        {
                            return false;
                        }

                        offset += 16 + r.Payload.Length;
                        return offset > cut;
                    });
                    log = TxnLog.Open(options);
                }

                var context = $"seed {seed} step {step} ({what})";
                var actual = log.ReadFrom(0).Select(r => (r.Zxid, r.Payload.ToArray())).ToList();
                Assert.True(model.Count == actual.Count, $"{context}: model has {model.Count} records, log {actual.Count}");
                for (var i = 0; i < model.Count; i++)
                {
                    Assert.True(model[i].Zxid == actual[i].Zxid, $"{context}: record {i} is {actual[i].Zxid}, expected {model[i].Zxid}");
                    Assert.True(model[i].Payload.AsSpan().SequenceEqual(actual[i].Item2), $"{context}: payload of {model[i].Zxid} differs");
                }

                Assert.Equal(model.Count == 0 ? log.LastZxid : model[^1].Zxid, log.LastZxid);
            }
        }
        finally
        {
            await log.DisposeAsync();
        }
    }

    private const int LogFormatHeaderBytes = 16;
}
