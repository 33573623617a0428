using System.Diagnostics;
using System.Globalization;
using Zooflow.Storage;

// A child process for the storage tests and a quick throughput probe. Modes:
//   append <dir> <inFlight>      open the log (recovery), print "READY <lastZxid>", then append zxids last+1, last+2, ...
//                                forever with <inFlight> appends outstanding, printing "ACK <zxid>" once each is durable.
//                                The test kills it with SIGKILL and checks that every acknowledged zxid survived.
//   lock <dir>                   hold the data directory lock, print "LOCKED", wait until killed or stdin closes.
//   snapshot <dir>               write snapshots zxid = newest valid + 1, + 2, ... (1 MiB bodies), printing "SNAP <zxid>"
//                                once each is durable under its final name.
//   bench <dir> <inFlight> <n>   append n records of 100 bytes with fsync on and print appends/s, fsyncs, mean batch.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: append <dir> <inFlight> | lock <dir> | bench <dir> <inFlight> <count>");
    return 2;
}

var directory = args[1];
switch (args[0])
{
    case "append":
        return await AppendForeverAsync(directory, int.Parse(args[2], CultureInfo.InvariantCulture));
    case "lock":
        using (DataDirectoryLock.Acquire(directory))
        {
            Emit("LOCKED");
            _ = await Console.In.ReadToEndAsync();
        }

        return 0;
    case "snapshot":
        return await SnapshotForeverAsync(directory);
    case "bench":
        return await BenchAsync(directory, int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine($"unknown mode {args[0]}");
        return 2;
}

static async Task<int> AppendForeverAsync(string directory, int inFlight)
{
    // Small segments so that kills also land around segment creation and rolling.
    await using var log = TxnLog.Open(new TxnLogOptions { Directory = directory, PreallocateBytes = 256 * 1024, SegmentBytesMax = 256 * 1024 });
    Emit($"READY {log.LastZxid} {log.Recovery.Truncations.Count}");

    using var slots = new SemaphoreSlim(inFlight);
    var next = log.LastZxid + 1;
    while (true)
    {
        await slots.WaitAsync();
        var zxid = next++;
        var append = log.AppendAsync(zxid, PayloadFor(zxid));
        _ = AcknowledgeAsync(append, zxid);
    }

    async Task AcknowledgeAsync(ValueTask append, long zxid)
    {
        try
        {
            await append;
            Emit($"ACK {zxid}");
        }
        catch (Exception e)
        {
            Emit($"FAIL {zxid} {e.Message}");
        }
        finally
        {
            slots.Release();
        }
    }
}

static async Task<int> SnapshotForeverAsync(string directory)
{
    var store = new SnapshotStore(directory);
    var newest = (await store.LoadNewestAsync((_, _, _) => ValueTask.CompletedTask)).Loaded?.Zxid ?? 0;
    Emit($"READY {newest}");
    for (var zxid = newest + 1; ; zxid++)
    {
        var body = SnapshotBodyFor(zxid);
        await store.WriteAsync(zxid, async (stream, ct) =>
        {
            for (var offset = 0; offset < body.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(body.AsMemory(offset, 64 * 1024), ct);
            }
        });
        Emit($"SNAP {zxid}");
    }
}

static async Task<int> BenchAsync(string directory, int inFlight, int count)
{
    await using var log = TxnLog.Open(new TxnLogOptions { Directory = directory });
    var payload = new byte[100];
    var first = log.LastZxid + 1;
    var started = Stopwatch.GetTimestamp();
    if (inFlight == 1)
    {
        for (var i = 0; i < count; i++)
        {
            await log.AppendAsync(first + i, payload);
        }
    }
    else
    {
        var window = new Queue<Task>(inFlight);
        for (var i = 0; i < count; i++)
        {
            if (window.Count == inFlight)
            {
                await window.Dequeue();
            }

            window.Enqueue(log.AppendAsync(first + i, payload).AsTask());
        }

        await Task.WhenAll(window);
    }

    var elapsed = Stopwatch.GetElapsedTime(started);
    var stats = log.Statistics;
    Emit(string.Create(CultureInfo.InvariantCulture,
        $"inFlight={inFlight} appends={count} seconds={elapsed.TotalSeconds:F2} appendsPerSecond={count / elapsed.TotalSeconds:F0} fsyncs={stats.Fsyncs} meanBatch={(double)stats.Appends / stats.Batches:F1}"));
    return 0;
}

// Deterministic payload per zxid (20..219 bytes), so the test can check content, not just presence.
static byte[] PayloadFor(long zxid)
{
    var payload = new byte[20 + (int)(zxid % 200)];
    for (var i = 0; i < payload.Length; i++)
    {
        payload[i] = (byte)(zxid * 31 + i);
    }

    return payload;
}

// 1 MiB body determined by the zxid.
static byte[] SnapshotBodyFor(long zxid)
{
    var body = new byte[1024 * 1024];
    new Random((int)zxid).NextBytes(body);
    return body;
}

// Console.Out is synchronized and auto-flushed: one write per line, so an ACK line is out before the next append.
static void Emit(string line) => Console.Out.WriteLine(line);
