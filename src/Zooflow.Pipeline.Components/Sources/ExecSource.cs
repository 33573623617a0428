using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// Flume's <c>exec</c> source: runs <c>command</c> as a real child process and turns each line of its standard output
/// into an event (body = the line in <c>charset</c>, without the line terminator).
/// </summary>
/// <remarks>
/// <para>Keys (Flume's defaults): <c>command</c> (required); <c>shell</c> (e.g. <c>/bin/sh -c</c>: the shell's words
/// followed by the command as one argument; without it the command is split on whitespace); <c>restart</c> false;
/// <c>restartThrottle</c> 10000 ms; <c>logStdErr</c> false; <c>batchSize</c> 20; <c>batchTimeout</c> 3000 ms (a partial
/// batch is delivered once its first line is this old); <c>charset</c> UTF-8.</para>
/// <para>Delivery: when the channel refuses a batch, the source retries it and stops reading the pipe, so the command
/// blocks on a full pipe (back-pressure) instead of lines being dropped. As Flume warns, lines still in the pipe or in a
/// partial batch when the agent stops are lost; exec gives no end-to-end guarantee.</para>
/// <para>Stop kills the process (and its children) by PID. When the command exits by itself the source ends, unless
/// <c>restart</c> is true: then it is run again after <c>restartThrottle</c>.</para>
/// </remarks>
public sealed class ExecSource : IEventDrivenSource, IBatchSized, IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Encoding _encoding;
    private readonly object _processLock = new();
    private IEventSink? _output;
    private Task? _runLoop;
    private Process? _process;
    private long _eventsAccepted;
    private int _runs;
    private int _started;

    /// <summary>Reads the exec keys listed in the remarks.</summary>
    public ExecSource(string name, ComponentContext context)
    {
        Name = name;
        _counter = context.Counters.Source(name);
        Command = context.GetRequiredString("command");
        if (context.Properties.ContainsKey("command") && string.IsNullOrWhiteSpace(Command))
        {
            context.AddError("command", "is empty (allowed: a command line, e.g. tail -F /var/log/app.log)");
        }
        Shell = context.GetString("shell");
        Restart = context.GetBool("restart", false);
        RestartThrottle = TimeSpan.FromMilliseconds(context.GetLong("restartThrottle", 10_000, 0));
        LogStdErr = context.GetBool("logStdErr", false);
        BatchSize = context.GetInt("batchSize", 20, 1, 1_000_000);
        BatchTimeout = TimeSpan.FromMilliseconds(context.GetLong("batchTimeout", 3_000, 1));
        var charset = context.GetString("charset", "UTF-8")!;
        try
        {
            _encoding = Encoding.GetEncoding(charset);
        }
        catch (ArgumentException)
        {
            context.AddError("charset", $"'{charset}' is not a known character set (allowed: UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE, UTF-32)");
            _encoding = Encoding.UTF8;
        }
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.ExecSource");
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary><c>command</c>.</summary>
    public string Command { get; }

    /// <summary><c>shell</c>, or null to split the command on whitespace.</summary>
    public string? Shell { get; }

    /// <summary><c>restart</c>.</summary>
    public bool Restart { get; }

    /// <summary><c>restartThrottle</c>.</summary>
    public TimeSpan RestartThrottle { get; }

    /// <summary><c>logStdErr</c>.</summary>
    public bool LogStdErr { get; }

    /// <summary>Most events per channel transaction (<c>batchSize</c>).</summary>
    public int BatchSize { get; }

    /// <summary><c>batchTimeout</c>.</summary>
    public TimeSpan BatchTimeout { get; }

    /// <summary>Events committed so far.</summary>
    public long EventsAccepted => Interlocked.Read(ref _eventsAccepted);

    /// <summary>How many times the command was started.</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>The PID of the running command, or null.</summary>
    public int? ProcessId
    {
        get
        {
            lock (_processLock)
            {
                return _process?.Id;
            }
        }
    }

    /// <summary>Completes when the source stopped running commands (command exited without restart, or stop).</summary>
    public Task Completion => _runLoop ?? Task.CompletedTask;

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        // The first run starts synchronously so that a command that cannot be started fails the start.
        var process = StartProcess();
        _runLoop = RunLoopAsync(process, _stopping.Token);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        KillProcess();
        if (_runLoop is not null)
        {
            try
            {
                await _runLoop.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                _logger.LogWarning("Exec source {Source}: did not finish within the stop timeout", Name);
            }
        }
        _logger.LogInformation("Exec source {Source} stopped; {Events} events accepted", Name, EventsAccepted);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>The program and arguments that will be run.</summary>
    internal (string FileName, IReadOnlyList<string> Arguments) CommandLine()
    {
        if (!string.IsNullOrWhiteSpace(Shell))
        {
            var shellWords = Shell.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return (shellWords[0], [.. shellWords.Skip(1), Command]);
        }
        var words = Command.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return (words[0], words[1..]);
    }

    private Process StartProcess()
    {
        var (fileName, arguments) = CommandLine();
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = _encoding,
            StandardErrorEncoding = _encoding,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Source {Name}: could not start '{fileName}'");
        process.StandardInput.Close();
        lock (_processLock)
        {
            _process = process;
        }
        Interlocked.Increment(ref _runs);
        _logger.LogInformation("Exec source {Source}: started '{Command}' as PID {Pid}", Name, Command, process.Id);
        return process;
    }

    private void KillProcess()
    {
        lock (_processLock)
        {
            if (_process is { } process)
            {
                try
                {
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Already gone.
                }
            }
        }
    }

    private async Task RunLoopAsync(Process? process, CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                process ??= StartProcess();
                await PumpAsync(process, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Exec source {Source}: failed while running command '{Command}'", Name, Command);
            }
            finally
            {
                if (process is not null)
                {
                    KillProcess();
                    try
                    {
                        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                        _logger.LogInformation("Exec source {Source}: command exited with code {ExitCode}", Name, process.HasExited ? process.ExitCode : -1);
                    }
                    catch (TimeoutException)
                    {
                        _logger.LogWarning("Exec source {Source}: PID {Pid} did not exit after kill", Name, process.Id);
                    }
                    lock (_processLock)
                    {
                        _process = null;
                    }
                    process.Dispose();
                    process = null;
                }
            }
            if (!Restart || cancellationToken.IsCancellationRequested)
            {
                break;
            }
            _logger.LogInformation("Exec source {Source}: restarting the command in {Throttle}", Name, RestartThrottle);
            try
            {
                await Task.Delay(RestartThrottle, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task PumpAsync(Process process, CancellationToken cancellationToken)
    {
        var output = _output!;
        var stderr = DrainStdErrAsync(process.StandardError, cancellationToken);
        var stdout = process.StandardOutput;
        var batch = new List<Event>(Math.Min(BatchSize, 4096));
        var batchStarted = 0L;
        Task<string?>? pendingLine = null;
        while (true)
        {
            pendingLine ??= stdout.ReadLineAsync(cancellationToken).AsTask();
            string? line;
            if (batch.Count == 0)
            {
                line = await pendingLine.ConfigureAwait(false);
            }
            else
            {
                var remaining = BatchTimeout - Stopwatch.GetElapsedTime(batchStarted);
                if (remaining <= TimeSpan.Zero)
                {
                    await FlushAsync(output, batch, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                try
                {
                    line = await pendingLine.WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    await FlushAsync(output, batch, cancellationToken).ConfigureAwait(false);
                    continue;
                }
            }
            pendingLine = null;
            if (line is null)
            {
                break;
            }
            if (batch.Count == 0)
            {
                batchStarted = Stopwatch.GetTimestamp();
            }
            batch.Add(new Event(_encoding.GetBytes(line)));
            if (batch.Count >= BatchSize)
            {
                await FlushAsync(output, batch, cancellationToken).ConfigureAwait(false);
            }
        }
        if (batch.Count > 0)
        {
            await FlushAsync(output, batch, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await stderr.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A child holding stderr open; the process is killed by the caller.
        }
    }

    private async Task FlushAsync(IEventSink output, List<Event> batch, CancellationToken cancellationToken)
    {
        await BackPressure.DeliverAsync(output, batch, _counter, _logger, Name, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _eventsAccepted, batch.Count);
        batch.Clear();
    }

    private async Task DrainStdErrAsync(StreamReader stderr, CancellationToken cancellationToken)
    {
        var lineNumber = 0;
        try
        {
            while (await stderr.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                lineNumber++;
                if (LogStdErr)
                {
                    _logger.LogInformation("Exec source {Source}: StderrLogger[{Line}] = '{Text}'", Name, lineNumber, line);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Stopping or the process is gone.
        }
    }
}
