using Xunit;
using Zooflow.Agent.Registry;
using Zooflow.Client;
using Zooflow.TestKit;
using Zooflow.TestKit.Servers;

namespace Zooflow.Agent.Tests.Infrastructure;

/// <summary>Runs the built CLI (<c>dotnet zooflow.dll</c>, or <c>$ZOOFLOW_CLI</c>): one-shot commands and agent processes.</summary>
public static class Cli
{
    /// <summary>Bounded wait for anything a test waits on.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(40);

    public static void RequireBuilt()
    {
        if (!File.Exists(TestServer.ZooflowCli))
        {
            Assert.Skip($"the CLI is not built at {TestServer.ZooflowCli} (build src/Zooflow.Cli or set ZOOFLOW_CLI)");
        }
    }

    /// <summary>Runs <c>zooflow args...</c> to completion.</summary>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        RequireBuilt();
        return ProcessRunner.RunAsync("dotnet", [TestServer.ZooflowCli, .. args], WaitLimit, stdin, workingDirectory, environment,
            TestContext.Current.CancellationToken);
    }

    /// <summary>Starts <c>zooflow agent -n NAME -z CONNECT ...</c> with fast runner backoff and a 1 s status interval.</summary>
    public static AgentProcess StartAgent(string workDir, string connect, string name, string? id = null, string group = "default",
        IEnumerable<string>? extraArgs = null, IReadOnlyDictionary<string, string?>? environment = null, double sessionTimeoutSeconds = 4)
    {
        RequireBuilt();
        var args = new List<string>
        {
            TestServer.ZooflowCli, "agent", "-n", name, "-z", connect, "--group", group,
            "--session-timeout", sessionTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--status-interval", "1", "--backoff-increment-ms", "10", "--max-backoff-ms", "100", "--drain-timeout", "5",
        };
        if (id is not null)
        {
            args.AddRange(["--id", id]);
        }
        args.AddRange(extraArgs ?? []);
        return new AgentProcess(ProcessRunner.Start("dotnet", args, workDir, environment), id ?? name);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds (there is no event to await for a process's state);
    /// fails with <paramref name="what"/> and <paramref name="diagnostics"/> after <see cref="WaitLimit"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, Func<string>? diagnostics = null, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? WaitLimit);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}\n{diagnostics?.Invoke()}");
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The fleet entry of <paramref name="id"/> as the library reads it, or null when not listed.</summary>
    public static async Task<FleetEntry?> FleetEntryAsync(ZooKeeperClient client, string group, string id)
    {
        var entries = await Fleet.ReadAsync(client, group, DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);
        return entries.FirstOrDefault(e => e.Id == id);
    }
}

/// <summary>An agent process; disposing kills it (by PID).</summary>
public sealed class AgentProcess(ProcessRunner process, string id) : IAsyncDisposable
{
    public ProcessRunner Process => process;

    public string Id => id;

    public string Output => $"--- agent {id} (pid {process.Pid}) stdout ---\n{Tail(process.StandardOutput)}\n--- stderr ---\n{Tail(process.StandardError)}";

    public async Task WaitForOutputAsync(string text)
    {
        await Cli.WaitUntilAsync(() =>
        {
            if (process.HasExited && !process.StandardOutput.Contains(text, StringComparison.Ordinal))
            {
                Assert.Fail($"agent {id} exited before printing '{text}'\n{Output}");
            }
            return Task.FromResult(process.StandardOutput.Contains(text, StringComparison.Ordinal));
        }, $"agent {id} to print '{text}'", () => Output);
    }

    /// <summary>SIGTERM, then waits for the exit (the agent drains its channels).</summary>
    public async Task<ProcessResult> StopAsync()
    {
        process.Signal(ProcessRunner.SigTerm);
        return await process.WaitForExitAsync(Cli.WaitLimit, TestContext.Current.CancellationToken);
    }

    private static string Tail(string s) => s.Length <= 8000 ? s : "...\n" + s[^8000..];

    public ValueTask DisposeAsync() => process.DisposeAsync();
}

/// <summary>The test classes that start agent processes run one test at a time between them: each test starts up to five
/// .NET processes, and several such tests at once on a 2-core CI machine starve each other past their waits.</summary>
[CollectionDefinition(Name)]
public sealed class AgentProcesses
{
    public const string Name = "agent processes";
}
