using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Agent;
using Zooflow.Agent.Configuration;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Pipeline;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow config push|pull|diff|history|rollback</c>: manage agent configurations kept in the service, in Flume's
/// ZooKeeper layout (<c>&lt;zkBasePath&gt;/&lt;agent&gt;</c>) with a bounded history of earlier versions beside it
/// (<see cref="ZnodeLayout"/>). Exit codes: 0 done, 1 usage, service or access problem, 2 configuration invalid (push
/// refused), 3 conflict (someone else pushed since the version you based your change on); <c>diff</c> exits 0 when the
/// texts are equal and 1 when they differ, as diff(1).
/// </summary>
internal static class ConfigCommand
{
    /// <summary>Exit code when a push lost a race with another operator.</summary>
    public const int ConflictExitCode = 3;

    public static Command Create()
    {
        var command = new Command("config", "Manage agent configurations kept in the service (Flume's ZooKeeper layout <zkBasePath>/<agent>, with history).");
        command.Subcommands.Add(Push());
        command.Subcommands.Add(Pull());
        command.Subcommands.Add(Diff());
        command.Subcommands.Add(History());
        command.Subcommands.Add(Rollback());
        return command;
    }

    private static Option<string> NameOption() => new("--name", "-n") { Description = "The agent (configuration) name.", Required = true };

    private static Command Push()
    {
        var service = ServiceCliOptions.CreateForTools();
        var name = NameOption();
        var file = new Argument<FileInfo>("file") { Description = "Flume properties file to push ('-' reads standard input)." };
        var force = new Option<bool>("--force") { Description = "Push even when the configuration has errors (agents will refuse it and report why)." };
        var expect = new Option<int?>("--expect-version") { Description = "Push only if the znode is still at this data version (the one you pulled); -1: only if it does not exist yet." };
        var keep = new Option<int>("--keep") { Description = "History entries to keep.", DefaultValueFactory = _ => ConfigStore.DefaultHistoryKeep };
        var aclDigest = new Option<string[]>("--acl-digest")
        {
            Description = "Set a digest ACL on the configuration and its history: user:password[:perms] (perms from cdrwa, default cdrwa; repeatable). Agents then need --auth digest:user:password with read.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var define = new Option<string[]>("--define") { Description = "key=value for ${sys:key} while validating (as the agent's -D).", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("push", "Validate a configuration file and write it as the agent's new version (older versions stay in the history).")
        {
            name, file, force, expect, keep, aclDigest, define,
        };
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            var acl = ParseAclDigest(parse.GetValue(aclDigest) ?? [], errors);
            var path = ZnodeLayout.Config(service.BasePathOf(parse), parse.GetValue(name)!);
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("config push", errors);
            }
            var source = parse.GetValue(file)!;
            string text;
            if (source.ToString() == "-")
            {
                text = await Console.In.ReadToEndAsync(cancellation);
            }
            else if (!source.Exists)
            {
                await Console.Error.WriteLineAsync($"zooflow config push: {source} does not exist");
                return 1;
            }
            else
            {
                text = await File.ReadAllTextAsync(source.FullName, cancellation);
            }
            var valid = await ValidateAndReportAsync(text, source.Name, parse.GetValue(name)!, FlumeArgs.ParseDefines(parse.GetValue(define) ?? []));
            if (!valid && !parse.GetValue(force))
            {
                await Console.Error.WriteLineAsync($"zooflow config push: not pushed to {path}: fix the errors above, or pass --force to push anyway (agents refuse an invalid version and keep running the last good one)");
                return AgentCommand.ConfigErrorExitCode;
            }
            return await WithStoreAsync("config push", options, path, cancellation, async store =>
            {
                var written = await store.PushAsync(path, text, parse.GetValue(expect), acl, parse.GetValue(keep), cancellation);
                await Console.Out.WriteLineAsync($"pushed {path} version {written.Version}{(valid ? "" : " (with errors: --force)")}");
                return 0;
            });
        });
        return command;
    }

    private static Command Pull()
    {
        var service = ServiceCliOptions.CreateForTools();
        var name = NameOption();
        var version = new Option<int?>("--version") { Description = "An earlier version from the history (default: the current one)." };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write to this file instead of standard output." };
        var command = new Command("pull", "Print the agent's configuration (the data version goes to standard error: push --expect-version it).") { name, version, output };
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            var path = ZnodeLayout.Config(service.BasePathOf(parse), parse.GetValue(name)!);
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("config pull", errors);
            }
            return await WithStoreAsync("config pull", options, path, cancellation, async store =>
            {
                var wanted = parse.GetValue(version);
                var config = wanted is { } v ? await store.GetVersionAsync(path, v, cancellation) : await store.GetAsync(path, cancellation);
                if (config is null)
                {
                    await Console.Error.WriteLineAsync(wanted is null
                        ? $"zooflow config pull: {path} does not exist"
                        : $"zooflow config pull: version {wanted} of {path} is not in the history (see zooflow config history)");
                    return 1;
                }
                if (parse.GetValue(output) is { } file)
                {
                    await File.WriteAllTextAsync(file.FullName, config.Text, cancellation);
                }
                else
                {
                    await Console.Out.WriteAsync(config.Text);
                }
                await Console.Error.WriteLineAsync($"# {path} version {config.Version}");
                return 0;
            });
        });
        return command;
    }

    private static Command Diff()
    {
        var service = ServiceCliOptions.CreateForTools();
        var name = NameOption();
        var file = new Argument<FileInfo?>("file") { Description = "Compare with this file (default: compare two versions).", Arity = ArgumentArity.ZeroOrOne };
        var from = new Option<int?>("--from") { Description = "The older version (default: the current one when a file is given)." };
        var to = new Option<int?>("--to") { Description = "The newer version (default: the current one)." };
        var command = new Command("diff", "Unified diff between the pushed configuration and a file, or between two versions (exit 0 equal, 1 different).") { name, file, from, to };
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            var path = ZnodeLayout.Config(service.BasePathOf(parse), parse.GetValue(name)!);
            var local = parse.GetValue(file);
            if (local is null && parse.GetValue(from) is null)
            {
                errors.Add("give a file to compare with, or --from VERSION [--to VERSION]");
            }
            if (local is not null && parse.GetValue(to) is not null)
            {
                errors.Add("--to compares two versions; with a file use --from only");
            }
            if (local is { Exists: false })
            {
                errors.Add($"{local} does not exist");
            }
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("config diff", errors);
            }
            return await WithStoreAsync("config diff", options, path, cancellation, async store =>
            {
                var older = parse.GetValue(from) is { } f ? await store.GetVersionAsync(path, f, cancellation) : await store.GetAsync(path, cancellation);
                if (older is null)
                {
                    await Console.Error.WriteLineAsync($"zooflow config diff: {(parse.GetValue(from) is { } missing ? $"version {missing} of {path} is not in the history" : $"{path} does not exist")}");
                    return 2;
                }
                string newerText, newerLabel;
                if (local is not null)
                {
                    newerText = await File.ReadAllTextAsync(local.FullName, cancellation);
                    newerLabel = local.ToString();
                }
                else
                {
                    var newer = parse.GetValue(to) is { } t ? await store.GetVersionAsync(path, t, cancellation) : await store.GetAsync(path, cancellation);
                    if (newer is null)
                    {
                        await Console.Error.WriteLineAsync($"zooflow config diff: version {parse.GetValue(to)} of {path} is not in the history");
                        return 2;
                    }
                    newerText = newer.Text;
                    newerLabel = $"{path}@v{newer.Version}";
                }
                var diff = ConfigDiff.Unified(older.Text, newerText, $"{path}@v{older.Version}", newerLabel);
                await Console.Out.WriteAsync(diff);
                return diff.Length == 0 ? 0 : 1;
            });
        });
        return command;
    }

    private static Command History()
    {
        var service = ServiceCliOptions.CreateForTools();
        var name = NameOption();
        var command = new Command("history", "List the versions kept for the agent (the current one is marked *).") { name };
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            var path = ZnodeLayout.Config(service.BasePathOf(parse), parse.GetValue(name)!);
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("config history", errors);
            }
            return await WithStoreAsync("config history", options, path, cancellation, async store =>
            {
                var current = await store.GetAsync(path, cancellation);
                if (current is null)
                {
                    await Console.Error.WriteLineAsync($"zooflow config history: {path} does not exist");
                    return 1;
                }
                var entries = await store.HistoryAsync(path, cancellation);
                await Console.Out.WriteLineAsync("  VERSION  PUSHED (UTC)         BYTES");
                foreach (var entry in entries)
                {
                    await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{(entry.Version == current.Version ? "*" : " ")} {entry.Version,7}  {entry.PushedUtc:yyyy-MM-dd HH:mm:ss}  {entry.Bytes,6}"));
                }
                if (!entries.Any(e => e.Version == current.Version))
                {
                    await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"* {current.Version,7}  {current.ModifiedUtc:yyyy-MM-dd HH:mm:ss}  {System.Text.Encoding.UTF8.GetByteCount(current.Text),6}  (written outside zooflow config push: not in the history)"));
                }
                return 0;
            });
        });
        return command;
    }

    private static Command Rollback()
    {
        var service = ServiceCliOptions.CreateForTools();
        var name = NameOption();
        var to = new Option<int>("--to") { Description = "The version to bring back (pushed as a new version).", Required = true };
        var force = new Option<bool>("--force") { Description = "Push it even when it no longer validates." };
        var keep = new Option<int>("--keep") { Description = "History entries to keep.", DefaultValueFactory = _ => ConfigStore.DefaultHistoryKeep };
        var command = new Command("rollback", "Push an earlier version again as a new version (the history keeps every step).") { name, to, force, keep };
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            var agent = parse.GetValue(name)!;
            var path = ZnodeLayout.Config(service.BasePathOf(parse), agent);
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("config rollback", errors);
            }
            return await WithStoreAsync("config rollback", options, path, cancellation, async store =>
            {
                var current = await store.GetAsync(path, cancellation);
                var earlier = await store.GetVersionAsync(path, parse.GetValue(to), cancellation);
                if (current is null || earlier is null)
                {
                    await Console.Error.WriteLineAsync($"zooflow config rollback: version {parse.GetValue(to)} of {path} is not in the history (see zooflow config history)");
                    return 1;
                }
                var valid = await ValidateAndReportAsync(earlier.Text, $"{path}@v{earlier.Version}", agent, new Dictionary<string, string>());
                if (!valid && !parse.GetValue(force))
                {
                    await Console.Error.WriteLineAsync("zooflow config rollback: that version does not validate any more; pass --force to push it anyway");
                    return AgentCommand.ConfigErrorExitCode;
                }
                var written = await store.PushAsync(path, earlier.Text, current.Version, null, parse.GetValue(keep), cancellation);
                await Console.Out.WriteLineAsync($"rolled {path} back to the text of version {earlier.Version}: now version {written.Version}");
                return 0;
            });
        });
        return command;
    }

    /// <summary>Validates <paramref name="text"/> as an agent with <c>-z</c> would build it (without connecting anything).</summary>
    internal static AgentBuildResult Validate(string text, string location, string agentName, IReadOnlyDictionary<string, string> environment,
        IReadOnlyDictionary<string, string> defines, ILoggerFactory loggerFactory)
    {
        var registry = ComponentRegistry.CreateDefault(BuiltInComponents.All().Concat(ComponentCatalog.Extra()).Concat(AgentComponents.ForValidation(agentUsesService: true)));
        var settings = new BuildSettings(false, location, loggerFactory, new CounterRegistry(), TimeProvider.System);
        return AgentLoader.Load(new ConfigSource(text, location, environment, defines), agentName, registry, settings);
    }

    private static async Task<bool> ValidateAndReportAsync(string text, string location, string agentName, IReadOnlyDictionary<string, string> defines)
    {
        var result = Validate(text, location, agentName, AgentCommand.ReadEnvironment(), defines, NullLoggerFactory.Instance);
        foreach (var warning in result.Warnings)
        {
            await Console.Error.WriteLineAsync($"warning: {warning}");
        }
        foreach (var error in result.Errors)
        {
            await Console.Error.WriteLineAsync($"error: {error}");
        }
        return !result.HasErrors;
    }

    /// <summary><c>user:password[:perms]</c> → digest ACL entries (the password is hashed as ZooKeeper's
    /// DigestAuthenticationProvider does).</summary>
    private static List<Acl>? ParseAclDigest(IReadOnlyList<string> entries, List<string> errors)
    {
        if (entries.Count == 0)
        {
            return null;
        }
        var acl = new List<Acl>();
        foreach (var entry in entries)
        {
            var parts = entry.Split(':');
            if (parts.Length is < 2 or > 3 || parts[0].Length == 0)
            {
                errors.Add($"--acl-digest: expected user:password[:perms], e.g. ops:secret:cdrwa");
                continue;
            }
            var perms = Perms.All;
            if (parts.Length == 3)
            {
                perms = Perms.None;
                foreach (var c in parts[2])
                {
                    perms |= c switch
                    {
                        'c' => Perms.Create,
                        'd' => Perms.Delete,
                        'r' => Perms.Read,
                        'w' => Perms.Write,
                        'a' => Perms.Admin,
                        _ => Perms.None,
                    };
                    if ("cdrwa".IndexOf(c, StringComparison.Ordinal) < 0)
                    {
                        errors.Add($"--acl-digest: permission '{c}' is not one of c, d, r, w, a");
                    }
                }
            }
            acl.Add(DigestAuth.Acl(parts[0], parts[1], perms));
        }
        return acl;
    }

    /// <summary>Connects, runs <paramref name="action"/> and turns service errors into one clear line and an exit code.</summary>
    private static async Task<int> WithStoreAsync(string command, Agent.Service.ServiceOptions options, string path, CancellationToken cancellationToken,
        Func<ConfigStore, Task<int>> action)
    {
        try
        {
            await using var client = await ServiceCliOptions.ConnectAsync(options, cancellationToken);
            return await action(new ConfigStore(client));
        }
        catch (ConfigConflictException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow {command}: conflict: {ex.Message}");
            return ConflictExitCode;
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoAuth)
        {
            await Console.Error.WriteLineAsync($"zooflow {command}: {ex.Message}: the ACL of {ex.Path ?? path} does not allow this with the given credentials (pass --auth digest:user:password or set {ServiceCliOptions.AuthVariable})");
            return 1;
        }
        catch (KeeperException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow {command}: {ex.Message}");
            return 1;
        }
        catch (TimeoutException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow {command}: {ex.Message}");
            return 1;
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow {command}: {ex.Message}");
            return 1;
        }
    }
}
