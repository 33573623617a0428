using System.Diagnostics;
using System.Threading.Channels;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Runs tests/Zooflow.Storage.Driver as a real child process, exposing its stdout lines. Stops only its own PID (SIGKILL).
/// </summary>
internal sealed class DriverProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();

    private DriverProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
            }
            else
            {
                _lines.Writer.TryWrite(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public static DriverProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(DriverPath());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the storage driver");
        return new DriverProcess(process);
    }

    /// <summary>The next stdout line, or null at end of output; throws on timeout.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.WaitToReadAsync(cts.Token) && _lines.Reader.TryRead(out var line) ? line : null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"storage driver (pid {_process.Id}) printed nothing for {timeout}");
        }
    }

    /// <summary>Lines already received, without waiting.</summary>
    public IEnumerable<string> DrainReceived()
    {
        while (_lines.Reader.TryRead(out var line))
        {
            yield return line;
        }
    }

    /// <summary>SIGKILL and wait for exit and for the end of its output.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        await _process.WaitForExitAsync();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private static string DriverPath()
    {
        // tests/Zooflow.Storage.Tests/bin/<Configuration>/<tfm>/ → tests/Zooflow.Storage.Driver/bin/<Configuration>/<tfm>/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = here.Name;
        var configuration = here.Parent!.Name;
        var tests = here.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(tests, "Zooflow.Storage.Driver", "bin", configuration, tfm, "Zooflow.Storage.Driver.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"storage driver not built at {path}", path);
    }
}
