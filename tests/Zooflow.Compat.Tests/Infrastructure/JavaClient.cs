using Zooflow.TestKit;

namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>Compiles java/CompatClient.java once per test run and runs its sections against a server.</summary>
public static class JavaClient
{
    private static readonly SemaphoreSlim CompileLock = new(1, 1);
    private static string? _classes;

    public static string Classpath(string classes) => string.Join(':', classes, Paths.ZooKeeperJar, Paths.ZooKeeperJuteJar, Paths.Slf4jNopJar);

    public static async Task<string> CompileAsync(CancellationToken cancellationToken)
    {
        await CompileLock.WaitAsync(cancellationToken);
        try
        {
            if (_classes is not null)
            {
                return _classes;
            }

            var dir = Path.Combine(Path.GetTempPath(), $"zooflow-compat-java-{Environment.ProcessId}");
            Directory.CreateDirectory(dir);
            var source = Path.Combine(Paths.Assets, "java", "CompatClient.java");
            var result = await ProcessRunner.RunAsync(Paths.Javac,
                ["-nowarn", "-d", dir, "-cp", string.Join(':', Paths.ZooKeeperJar, Paths.ZooKeeperJuteJar), source],
                TimeSpan.FromSeconds(120), cancellationToken: cancellationToken);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException("javac failed\n" + result);
            }

            _classes = dir;
            return dir;
        }
        finally
        {
            CompileLock.Release();
        }
    }

    /// <summary>Runs one section; fails with the whole output unless the program printed done=true.</summary>
    public static async Task<Dictionary<string, string>> RunAsync(
        ServerProcess server, string section, string root, TimeSpan timeout, CancellationToken cancellationToken, params string[] extra)
    {
        var result = await RunRawAsync(server, section, root, timeout, cancellationToken, extra);
        var values = ClientOutput.Parse(result.StandardOutput);
        if (result.ExitCode != 0 || !values.ContainsKey("done"))
        {
            throw new Xunit.Sdk.XunitException($"Java client section '{section}' against {server.Kind} failed\n{result}\n--- server ---\n{server.Output}");
        }

        return values;
    }

    public static async Task<ProcessResult> RunRawAsync(
        ServerProcess server, string section, string root, TimeSpan timeout, CancellationToken cancellationToken, params string[] extra)
    {
        var classes = await CompileAsync(cancellationToken);
        return await ProcessRunner.RunAsync(Paths.Java,
            ["-Xmx256m", "-cp", Classpath(classes), "CompatClient", section, server.ConnectString, root, .. extra],
            timeout, cancellationToken: cancellationToken);
    }
}
