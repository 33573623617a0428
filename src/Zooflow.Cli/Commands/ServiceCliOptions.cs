using System.CommandLine;
using Zooflow.Agent;
using Zooflow.Agent.Service;
using Zooflow.Client;

namespace Zooflow.Cli.Commands;

/// <summary>
/// The options every command that talks to the service shares: Flume's <c>-z/--zkConnString</c> and
/// <c>-p/--zkBasePath</c>, credentials (<c>--auth scheme:credentials</c>, repeatable, or the <c>ZOOFLOW_AUTH</c>
/// environment variable so passwords stay off the command line) and the session timeout.
/// </summary>
internal sealed class ServiceCliOptions
{
    /// <summary>Credentials the CLI reads when <c>--auth</c> is not given: <c>scheme:credentials</c>, several separated by
    /// <c>;</c> or newlines (e.g. <c>digest:ops:secret</c>).</summary>
    public const string AuthVariable = "ZOOFLOW_AUTH";

    /// <summary>Where the tools connect when <c>-z</c> is not given: the embedded default server.</summary>
    public const string DefaultConnectString = "127.0.0.1:2181";

    private ServiceCliOptions(bool required)
    {
        ConnectString = new Option<string?>("--zkConnString", "-z")
        {
            Description = required
                ? "ZooKeeper-protocol service: host:port[,host:port...][/chroot] (Zooflow or Apache ZooKeeper)."
                : $"ZooKeeper-protocol service: host:port[,host:port...][/chroot] (default {DefaultConnectString}).",
        };
        BasePath = new Option<string?>("--zkBasePath", "-p") { Description = $"Base path of the agent configurations (Flume's default {ZnodeLayout.DefaultBasePath})." };
        Auth = new Option<string[]>("--auth")
        {
            Description = $"Credentials as zkCli's addauth takes them, e.g. digest:user:password (repeatable). Without it, ${AuthVariable} is read.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        SessionTimeout = new Option<double>("--session-timeout") { Description = "Session timeout in seconds.", DefaultValueFactory = _ => 10 };
    }

    public Option<string?> ConnectString { get; }

    public Option<string?> BasePath { get; }

    public Option<string[]> Auth { get; }

    public Option<double> SessionTimeout { get; }

    /// <summary>For the agent (<c>-z</c> chooses the service mode, so it has no default).</summary>
    public static ServiceCliOptions Create() => new(required: true);

    /// <summary>For the tools (<c>-z</c> defaults to the embedded server).</summary>
    public static ServiceCliOptions CreateForTools() => new(required: false);

    public void AddTo(Command command)
    {
        command.Options.Add(ConnectString);
        command.Options.Add(BasePath);
        command.Options.Add(Auth);
        command.Options.Add(SessionTimeout);
    }

    /// <summary>The service settings; problems (bad auth entries, bad connect string) are added to <paramref name="errors"/>.</summary>
    public ServiceOptions Build(ParseResult parse, List<string> errors)
    {
        var auth = parse.GetValue(Auth) is { Length: > 0 } given ? given
            : Environment.GetEnvironmentVariable(AuthVariable) is { Length: > 0 } fromEnv ? [fromEnv] : [];
        var options = new ServiceOptions
        {
            ConnectString = parse.GetValue(ConnectString) ?? DefaultConnectString,
            SessionTimeout = TimeSpan.FromSeconds(parse.GetValue(SessionTimeout)),
            Auth = ServiceOptions.ParseAuth(auth, errors),
        };
        errors.AddRange(options.Validate());
        return options;
    }

    /// <summary>The base path (<c>-p</c>), Flume's default when absent or empty.</summary>
    public string BasePathOf(ParseResult parse) => ZnodeLayout.NormalizeBasePath(parse.GetValue(BasePath));

    /// <summary>Connects a tool; throws with a message naming the service when no session comes within the timeout.</summary>
    public static Task<ZooKeeperClient> ConnectAsync(ServiceOptions options, CancellationToken cancellationToken) =>
        ZooKeeperClient.ConnectAsync(options.ConnectString, new ZooKeeperClientOptions
        {
            SessionTimeout = options.SessionTimeout,
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(5, options.SessionTimeout.TotalSeconds)),
            AuthInfo = options.Auth,
        }, cancellationToken);

    /// <summary>Prints every error under a heading; returns the exit code for bad usage (1).</summary>
    public static async Task<int> ReportAsync(string command, IReadOnlyList<string> errors)
    {
        foreach (var error in errors)
        {
            await Console.Error.WriteLineAsync($"zooflow {command}: {error}");
        }
        return 1;
    }
}
