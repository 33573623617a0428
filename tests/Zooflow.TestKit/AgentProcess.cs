using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Xunit;

namespace Zooflow.TestKit;

/// <summary>
/// Runs the built CLI (<c>dotnet src/Zooflow.Cli/bin/Debug/net10.0/zooflow.dll</c>, or <c>$ZOOFLOW_CLI</c>) as
/// <c>agent -n a1 -f flume.conf</c> in a private temp directory, captures its output for failure messages, and stops
/// only its own process, by PID (SIGTERM for a clean stop, SIGKILL for a crash).
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AgentProcess(Process process, string confPath)
    {
        _process = process;
        ConfPath = confPath;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string ConfPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What the agent printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The CLI to run: <c>$ZOOFLOW_CLI</c> or the Debug build in this repository.</summary>
    public static string CliPath()
    {
        var fromEnv = Environment.GetEnvironmentVariable("ZOOFLOW_CLI");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zooflow.slnx")))
        {
            dir = dir.Parent;
        }
        return dir is null ? "zooflow.dll" : Path.Combine(dir.FullName, "src", "Zooflow.Cli", "bin", "Debug", "net10.0", "zooflow.dll");
    }

    /// <summary>Skips the test (with the reason) when the CLI has not been built.</summary>
    public static void RequireCli()
    {
        var cli = CliPath();
        if (!File.Exists(cli))
        {
            Assert.Skip($"the CLI is not built at {cli} (build src/Zooflow.Cli or set ZOOFLOW_CLI)");
        }
    }

    /// <summary>Writes <paramref name="config"/> to <c>flume.conf</c> in <paramref name="workDir"/> and starts the agent.</summary>
    public static AgentProcess Start(string workDir, string config, params string[] extraArgs)
    {
        RequireCli();
        var confPath = Path.Combine(workDir, "flume.conf");
        File.WriteAllText(confPath, config);
        var cli = CliPath();
        var startInfo = new ProcessStartInfo(cli.EndsWith(".dll", StringComparison.Ordinal) ? "dotnet" : cli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workDir,
        };
        if (cli.EndsWith(".dll", StringComparison.Ordinal))
        {
            startInfo.ArgumentList.Add(cli);
        }
        foreach (var arg in new[] { "agent", "-n", "a1", "-f", confPath, "--backoff-increment-ms", "10", "--max-backoff-ms", "100" }.Concat(extraArgs))
        {
            startInfo.ArgumentList.Add(arg);
        }
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start the agent");
        return new AgentProcess(process, confPath);
    }

    /// <summary>Waits until a TCP connection to <paramref name="port"/> succeeds (the source is listening).</summary>
    public async Task WaitForTcpAsync(int port)
    {
        var deadline = DateTime.UtcNow + E2E.WaitLimit;
        while (true)
        {
            EnsureRunning();
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            catch (SocketException ex)
            {
                throw new TimeoutException($"agent did not listen on {port}: {ex.SocketErrorCode}\n{Output}");
            }
        }
    }

    /// <summary>Waits until the agent printed <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        var deadline = DateTime.UtcNow + E2E.WaitLimit;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            EnsureRunning();
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"agent never printed '{text}'\n{Output}");
            }
            await Task.Delay(50);
        }
    }

    public void EnsureRunning()
    {
        if (_process.HasExited)
        {
            _process.WaitForExit();
            throw new InvalidOperationException($"agent exited with code {_process.ExitCode}\n{Output}");
        }
    }

    /// <summary>SIGKILL by PID (a crash: no drain, no checkpoint, no flush), then waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _ = kill(_process.Id, SigKill);
            await _process.WaitForExitAsync().WaitAsync(E2E.WaitLimit);
        }
    }

    /// <summary>SIGTERM (graceful stop with drain), then waits; kills by PID if it does not exit in time.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            _ = kill(_process.Id, SigTerm);
            try
            {
                await _process.WaitForExitAsync().WaitAsync(E2E.WaitLimit);
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(E2E.WaitLimit);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}

/// <summary>Ports, files and bounded waits for the end-to-end tests.</summary>
public static class E2E
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(40);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "zooflow-e2e-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A TCP port that was free on 127.0.0.1 a moment ago.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>A UDP port that was free on 127.0.0.1 a moment ago.</summary>
    public static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The lines of every file in <paramref name="directory"/>, files in roll order (<c>...-1</c>, <c>...-2</c>, ...).</summary>
    public static List<string> ReadLines(string directory)
    {
        var lines = new List<string>();
        if (!Directory.Exists(directory))
        {
            return lines;
        }
        var files = Directory.GetFiles(directory)
            .OrderBy(f => long.TryParse(Path.GetFileNameWithoutExtension(f).Split('-').Last(), out var n) ? n : long.MaxValue)
            .ToList();
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            var end = text.LastIndexOf('\n');
            if (end < 0)
            {
                continue;
            }
            lines.AddRange(text[..end].Split('\n'));
        }
        return lines;
    }

    /// <summary>Waits until <paramref name="count"/>() reaches <paramref name="expected"/>; fails with the agent's output.</summary>
    public static async Task WaitForCountAsync(Func<int> count, int expected, AgentProcess agent, string what)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        int seen;
        while ((seen = count()) < expected)
        {
            agent.EnsureRunning();
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}: {seen} of {expected}\n{agent.Output}");
            }
            await Task.Delay(50);
        }
    }

    public static string[] Lines(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D6}-payload").ToArray();

    /// <summary>Sends the lines over one TCP connection and reads the acks concurrently (ack-every-event is on by default).</summary>
    public static async Task SendTcpAsync(int port, IEnumerable<string> lines, bool readAcks = true)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var payload = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
        var expectedAcks = readAcks ? payload.Count(b => b == (byte)'\n') * 3 : 0;
        var ackReader = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            var total = 0;
            while (total < expectedAcks)
            {
                var n = await client.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }
                total += n;
            }
            return total;
        });
        for (var offset = 0; offset < payload.Length; offset += 8192)
        {
            await client.SendAsync(payload.AsMemory(offset, Math.Min(8192, payload.Length - offset)), SocketFlags.None);
        }
        var acked = await ackReader.WaitAsync(WaitLimit);
        Assert.Equal(expectedAcks, acked);
        client.Shutdown(SocketShutdown.Both);
    }
}
