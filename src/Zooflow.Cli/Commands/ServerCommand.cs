using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Zooflow.Server.Persistence;
using Zooflow.Server.Configuration;
using Zooflow.Server.Quorum;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow server [zoo.cfg]</c>: runs a coordination server until SIGINT/SIGTERM: standalone, or a member of a
/// replicated ensemble when the file lists <c>server.N</c> lines (the same file starts every member; <c>dataDir/myid</c>
/// says which one). Without a file it runs the embedded default (127.0.0.1:2181, dataDir ./data). A zoo.cfg with invalid
/// values prints every error and exits 2; a member that must stop (a failed write to its log, a broken consensus
/// invariant) exits 3.
/// </summary>
internal static class ServerCommand
{
    /// <summary>Exit code for an invalid configuration.</summary>
    public const int ConfigErrorExitCode = 2;

    /// <summary>Exit code of an ensemble member that stopped itself (see <see cref="EnsembleServer.Fatal"/>).</summary>
    public const int FatalExitCode = 3;

    public static Command Create()
    {
        var command = new Command("server", "Run the coordination server (ZooKeeper wire protocol). Without a zoo.cfg it runs the embedded default on 127.0.0.1:2181 with data under ./data.");
        var config = new Argument<FileInfo?>("zoo.cfg") { Arity = ArgumentArity.ZeroOrOne, Description = "ZooKeeper-format configuration file." };
        command.Arguments.Add(config);
        command.SetAction((parse, cancellation) => RunAsync(parse.GetValue(config), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo? file, CancellationToken cancellation)
    {
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            })
            .SetMinimumLevel(LogLevel.Information));
        var logger = loggerFactory.CreateLogger("Zooflow.Cli");

        ServerOptions options;
        if (file is null)
        {
            options = ServerOptions.Default;
        }
        else
        {
            if (!file.Exists)
            {
                await Console.Error.WriteLineAsync($"zooflow server: configuration file {file.FullName} does not exist");
                return ConfigErrorExitCode;
            }

            var result = ZooCfgParser.ParseFile(file.FullName);
            foreach (var warning in result.Warnings)
            {
                logger.LogWarning(new EventId(5100, "ConfigWarning"), "{Warning}", warning.ToString());
            }

            if (!result.Ok)
            {
                await Console.Error.WriteLineAsync($"zooflow server: {result.Errors.Count} error(s) in {file.FullName}; not starting:");
                foreach (var error in result.Errors)
                {
                    await Console.Error.WriteLineAsync("  " + error);
                }

                return ConfigErrorExitCode;
            }

            options = result.Options!;
        }

        Directory.CreateDirectory(options.DataDir);
        if (options.DataLogDir is { } logDir)
        {
            Directory.CreateDirectory(logDir);
        }

        if (options.Quorum is not null)
        {
            return await RunMemberAsync(options, loggerFactory, cancellation);
        }

        // Durable: recover the data directory (snapshot + log replay, sessions) and serve from it (issue 3).
        DurableServer durable;
        try
        {
            var persistence = DurableServer.OptionsFrom(options);
            durable = await DurableServer.StartAsync(options, persistence, loggerFactory, cancellation);
        }
        catch (SocketException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow server: cannot listen on {options.ClientPortAddress}:{options.ClientPort}: {ex.Message}");
            return 1;
        }
        catch (IOException ex)
        {
            // DataDirectoryLockedException (another server owns the directory) or an unrecoverable data directory.
            await Console.Error.WriteLineAsync($"zooflow server: cannot open the data directory: {ex.Message}");
            return 1;
        }

        await using var durableScope = durable;
        var server = durable.Server;

        // Graceful stop on SIGINT/SIGTERM, whatever the command-line host does with them.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        await Console.Out.WriteLineAsync($"zooflow server ready on {server.EndPoint} (standalone, dataDir {options.DataDir})");
        await Console.Out.FlushAsync(CancellationToken.None);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await durable.DisposeAsync();
        return 0;
    }

    private static async Task<int> RunMemberAsync(ServerOptions options, ILoggerFactory loggerFactory, CancellationToken cancellation)
    {
        var quorum = options.Quorum!;
        EnsembleServer member;
        try
        {
            member = await EnsembleServer.StartAsync(options, DurableServer.OptionsFrom(options), loggerFactory, cancellationToken: cancellation);
        }
        catch (SocketException ex)
        {
            var self = quorum.Self;
            await Console.Error.WriteLineAsync(
                $"zooflow server: cannot listen on client port {options.ClientPortAddress}:{options.ClientPort}, quorum port {self.Host}:{self.QuorumPort} or election port {self.Host}:{self.ElectionPort}: {ex.Message}");
            return 1;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow server: cannot open the data directory: {ex.Message}");
            return 1;
        }

        await using var scope = member;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        await Console.Out.WriteLineAsync(
            $"zooflow server ready on {member.EndPoint} (ensemble member {quorum.MyId} of {quorum.Servers.Count}, {(quorum.IsObserver ? "observer" : "participant")}, dataDir {options.DataDir})");
        await Console.Out.FlushAsync(CancellationToken.None);
        var stopped = Task.Delay(Timeout.Infinite, stop.Token);
        var finished = await Task.WhenAny(stopped, member.Fatal);
        if (finished == member.Fatal)
        {
            await Console.Error.WriteLineAsync("zooflow server: stopping: " + await member.Fatal);
            await member.DisposeAsync();
            return FatalExitCode;
        }

        await member.DisposeAsync();
        return 0;
    }
}
