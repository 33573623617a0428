using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Zooflow.TestKit;

/// <summary>The outcome of a finished process.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() =>
        $"exit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// Starts one external process with captured output and stops only that process (and the tree it spawned), by its own
/// PID. Every wait is bounded: a process that overstays its timeout is killed and the wait throws
/// <see cref="TimeoutException"/> carrying the output seen so far.
/// </summary>
public sealed class ProcessRunner : IAsyncDisposable
{
    private const int MaxCapturedChars = 4 * 1024 * 1024;
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ProcessRunner(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public string Description => $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}";

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited; null while it runs.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="stdin"/> (if given) is written and the input closed.</summary>
    public static ProcessRunner Start(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? stdin = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                info.Environment[k] = v;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var runner = new ProcessRunner(process);
        process.OutputDataReceived += (_, e) => runner.Append(runner._stdout, runner._stdoutClosed, e.Data);
        process.ErrorDataReceived += (_, e) => runner.Append(runner._stderr, runner._stderrClosed, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {fileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process exited before reading its input; its exit code and output tell the story.
        }

        return runner;
    }

    /// <summary>Runs a process to completion within <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? stdin = null,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        await using var runner = Start(fileName, arguments, workingDirectory, environment, stdin);
        return await runner.WaitForExitAsync(timeout, cancellationToken);
    }

    /// <summary>Waits for exit; on timeout kills the process tree and throws with the output seen so far.</summary>
    public async Task<ProcessResult> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException(
                $"{Description} did not exit within {timeout.TotalSeconds:0.#} s\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}");
        }
        catch (TimeoutException)
        {
            // Output pipes stayed open (a grandchild holds them); what we have is enough.
        }

        return new ProcessResult(_process.ExitCode, StandardOutput, StandardError);
    }

    /// <summary>Kills this process and every process it spawned, if still running, and waits (up to 10 s) until it has exited.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            // Reaped before returning, so HasExited is true for the caller (a SIGKILL is not instant: the kernel
            // tears the process down after the signal is sent).
            _process.WaitForExit(KillWaitMilliseconds);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private const int KillWaitMilliseconds = 10_000;

    /// <summary>Sends a POSIX signal (e.g. <see cref="SigStop"/>, <see cref="SigCont"/>, <see cref="SigTerm"/>) to this
    /// process only; false when it has exited.</summary>
    public bool Signal(int signal) => !_process.HasExited && kill(_process.Id, signal) == 0;

    /// <summary>SIGTERM: a graceful stop.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGSTOP: freezes the process (it cannot catch it), e.g. so its session expires.</summary>
    public const int SigStop = 19;

    /// <summary>SIGCONT: resumes a stopped process.</summary>
    public const int SigCont = 18;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public async ValueTask DisposeAsync()
    {
        Signal(SigCont);
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
        }

        _process.Dispose();
    }

    private void Append(StringBuilder target, TaskCompletionSource closed, string? line)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (target)
        {
            if (target.Length < MaxCapturedChars)
            {
                target.Append(line).Append('\n');
            }
        }
    }
}
