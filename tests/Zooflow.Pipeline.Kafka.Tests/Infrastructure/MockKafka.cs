using System.Diagnostics;
using Xunit;

namespace Zooflow.Pipeline.Kafka.Tests.Infrastructure;

/// <summary>
/// A librdkafka mock Kafka cluster in its own process (tests/Zooflow.Kafka.MockCluster): real Kafka protocol on
/// loopback ports it picks itself, with broker faults on command. Stops only its own process (closing its stdin ends
/// it; a kill by PID is the fallback).
/// </summary>
internal sealed class MockKafka : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _commands = new(1, 1);

    private MockKafka(Process process, string bootstrap)
    {
        _process = process;
        Bootstrap = bootstrap;
    }

    /// <summary>The cluster's bootstrap list (host:port per broker).</summary>
    public string Bootstrap { get; }

    /// <summary>The first broker's address.</summary>
    public string FirstBroker => Bootstrap.Split(',')[0];

    public int Pid => _process.Id;

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers with <paramref name="topics"/> ("name:partitions").</summary>
    public static async Task<MockKafka> StartAsync(int brokers = 3, params string[] topics)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(HostPath());
        info.ArgumentList.Add("--brokers");
        info.ArgumentList.Add(brokers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var topic in topics)
        {
            info.ArgumentList.Add("--topic");
            info.ArgumentList.Add(topic);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the mock Kafka cluster");
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null || !line.StartsWith("bootstrap=", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"mock Kafka cluster did not start: '{line}'\n{stderr}");
        }
        return new MockKafka(process, line["bootstrap=".Length..]);
    }

    /// <summary>Sends one command (see the host's Program.cs) and checks the answer.</summary>
    public async Task CommandAsync(string command)
    {
        await _commands.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var answer = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            Assert.True(answer == "ok", $"mock cluster answered '{answer}' to '{command}'");
        }
        finally
        {
            _commands.Release();
        }
    }

    /// <summary>Takes broker <paramref name="broker"/> down: its connections are closed and new ones refused.</summary>
    public Task BrokerDownAsync(int broker) => CommandAsync($"down {broker}");

    /// <summary>Brings broker <paramref name="broker"/> back.</summary>
    public Task BrokerUpAsync(int broker) => CommandAsync($"up {broker}");

    /// <summary>Makes <paramref name="broker"/> the leader of a partition (as a controller's election would).</summary>
    public Task SetLeaderAsync(string topic, int partition, int broker) => CommandAsync($"leader {topic} {partition} {broker}");

    /// <summary>Moves the coordinator of consumer group <paramref name="group"/> (as the leader of its
    /// __consumer_offsets partition would move on a real cluster).</summary>
    public Task SetCoordinatorAsync(string group, int broker) => CommandAsync($"coordinator {group} {broker}");

    /// <summary>Kills the cluster process at once (SIGKILL): every broker disappears with its data.</summary>
    public void Kill() => _process.Kill();

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        _process.Dispose();
        _commands.Dispose();
    }

    private static string HostPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zooflow.slnx")))
        {
            dir = dir.Parent;
        }
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = dir is null ? "Zooflow.Kafka.MockCluster.dll"
            : Path.Combine(dir.FullName, "tests", "Zooflow.Kafka.MockCluster", "bin", configuration, "net10.0", "Zooflow.Kafka.MockCluster.dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the mock cluster host is not built at {path} (build tests/Zooflow.Kafka.MockCluster)");
        }
        return path;
    }
}
