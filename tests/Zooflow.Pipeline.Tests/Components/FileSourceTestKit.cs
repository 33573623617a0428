using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using Zooflow.Pipeline.Components.Sources.Taildir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>Helpers for the taildir and spooldir tests: numbered lines, an application-like log writer, a gated output,
/// and waits on the sources' own progress counters (never bare sleeps).</summary>
internal static class FileSourceTestKit
{
    /// <summary>Line <paramref name="i"/> of a stream called <paramref name="tag"/>: fixed width, unique.</summary>
    public static string Line(string tag, int i) => $"{tag}-{i:D6}-some-payload-text";

    public static IEnumerable<string> Lines(string tag, int from, int count) => Enumerable.Range(from, count).Select(i => Line(tag, i));

    /// <summary>Asserts that <paramref name="actual"/> holds each of <paramref name="expected"/> exactly once and nothing else.</summary>
    public static void AssertExactlyOnce(IEnumerable<string> expected, IReadOnlyCollection<string> actual)
    {
        var want = expected.ToList();
        var counts = actual.GroupBy(a => a).ToDictionary(g => g.Key, g => g.Count());
        var missing = want.Where(w => !counts.ContainsKey(w)).ToList();
        var duplicated = counts.Where(c => c.Value > 1).Select(c => $"{c.Key} x{c.Value}").ToList();
        var unexpected = counts.Keys.Except(want).ToList();
        Assert.True(missing.Count == 0 && duplicated.Count == 0 && unexpected.Count == 0 && actual.Count == want.Count,
            $"expected {want.Count} lines once each, got {actual.Count}: missing {missing.Count} [{string.Join(", ", missing.Take(5))}], " +
            $"duplicated {duplicated.Count} [{string.Join(", ", duplicated.Take(5))}], unexpected {unexpected.Count} [{string.Join(", ", unexpected.Take(5))}]");
    }

    /// <summary>Waits until <paramref name="source"/> finished at least <paramref name="rounds"/> more rounds: everything
    /// that was in the files before this call has been looked at.</summary>
    public static async Task WaitRoundsAsync(TaildirSource source, int rounds = 3)
    {
        var target = source.Rounds + rounds;
        await WaitUntilAsync(() => source.Rounds >= target || source.Completion.IsCompleted, $"{rounds} taildir rounds");
    }

    public static async Task WaitIdlePollsAsync(SpoolDirectorySource source, int polls = 2)
    {
        var target = source.IdlePolls + polls;
        await WaitUntilAsync(() => source.IdlePolls >= target || source.Completion.IsCompleted, $"{polls} idle spooldir polls");
    }

    public static Task WriteTextAsync(string path, string text) => File.WriteAllTextAsync(path, text, TestContext.Current.CancellationToken);

    public static Task<string> ReadTextAsync(string path) => File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);

    public static Task<byte[]> ReadBytesAsync(string path) => File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);

    /// <summary>Runs a real command (cp, truncate, stat, logrotate ...) and returns its standard output.</summary>
    public static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            process.Kill();
            Assert.Fail($"{file} {string.Join(' ', arguments)} did not finish");
        }
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}

/// <summary>Writes lines the way an application logs: a descriptor opened with <c>O_APPEND</c> (every write lands at
/// the current end, also after a truncate) that keeps writing to the same file after it was renamed or deleted, until
/// <see cref="Reopen"/> (what a SIGHUP does). With <c>append: false</c> it writes at its own offset instead, as an
/// application that opened its log without O_APPEND (a truncate then leaves a hole of zeros before the next write);
/// .NET's FileMode.Append is that kind: it seeks to the end once.</summary>
internal sealed class AppLogWriter : IDisposable
{
    private const int OWrOnly = 1;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;

    private readonly string _path;
    private readonly bool _append;
    private SafeFileHandle _handle;
    private long _offset;

    public AppLogWriter(string path, bool append = true)
    {
        _path = path;
        _append = append;
        _handle = Open();
    }

    public void Write(IEnumerable<string> lines) => WriteRaw(string.Concat(lines.Select(l => l + "\n")));

    public void WriteRaw(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        // With O_APPEND, Linux's pwrite ignores the offset and appends.
        RandomAccess.Write(_handle, bytes, _offset);
        _offset += bytes.Length;
    }

    /// <summary>Closes the descriptor and opens the path again (creating the file when it is gone).</summary>
    public void Reopen()
    {
        _handle.Dispose();
        _handle = Open();
    }

    public void Dispose() => _handle.Dispose();

    private SafeFileHandle Open()
    {
        var fd = OpenFd(_path, OWrOnly | OCreat | (_append ? OAppend : 0), Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            throw new IOException($"open {_path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        _offset = _append ? 0 : RandomAccess.GetLength(handle);
        return handle;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenFd([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);
}

/// <summary>An output that records events and can hold batches (a "slow channel"), so a test can change files while the
/// source has read a batch it has not committed yet. <see cref="Block"/> makes batches wait; <see cref="Allow"/> lets
/// that many through; <see cref="Unblock"/> lets everything through.</summary>
internal sealed class GatedOutput : IEventSink
{
    private readonly ConcurrentQueue<Event> _events = new();
    private readonly SemaphoreSlim _permits = new(0);
    private volatile bool _blocking;
    private int _waiting;

    public IReadOnlyCollection<Event> Events => _events;

    /// <summary>Batches that arrived while blocking (waiting now or let through since).</summary>
    public int Arrived => Volatile.Read(ref _waiting);

    public string[] Texts() => _events.Select(Text).ToArray();

    public void Block() => _blocking = true;

    public void Allow(int batches) => _permits.Release(batches);

    public void Unblock()
    {
        _blocking = false;
        _permits.Release(1000);
    }

    public async ValueTask ProcessBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        if (_blocking)
        {
            Interlocked.Increment(ref _waiting);
            await _permits.WaitAsync(cancellationToken);
        }
        foreach (var e in events)
        {
            _events.Enqueue(e);
        }
    }
}
