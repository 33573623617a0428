using System.CommandLine;
using System.Text;
using Zooflow.Agent;
using Zooflow.Agent.Limits;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Recipes;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow limits get|set|clear (--agent ID | --group G) [--source NAME] [--events-per-second N] [--bytes-per-second N]</c>:
/// the flow limits agents follow live (<see cref="FlowLimits"/> in <c>/zooflow/limits/agents/&lt;id&gt;</c> and
/// <c>/zooflow/limits/groups/&lt;group&gt;</c>; a group's limit is shared equally by its live agents).
/// </summary>
internal static class LimitsCommand
{
    public static Command Create()
    {
        var command = new Command("limits", "Show or change the flow limits (events/s, bytes/s) agents apply to their sources live.");
        command.Subcommands.Add(Build("get", "Print the limits (all of them without --agent/--group)."));
        command.Subcommands.Add(Build("set", "Set a rate for the agent's or group's sources together, or for one source (--source)."));
        command.Subcommands.Add(Build("clear", "Remove the limits (all of the agent's or group's, or one source's with --source)."));
        return command;
    }

    private static Command Build(string verb, string description)
    {
        var service = ServiceCliOptions.CreateForTools();
        var agent = new Option<string?>("--agent") { Description = "The agent's registry id." };
        var group = new Option<string?>("--group", "-g") { Description = "The group (its limit is divided among its live agents)." };
        var source = new Option<string?>("--source") { Description = "Only this source (by name)." };
        var events = new Option<double?>("--events-per-second") { Description = "Events per second (set only)." };
        var bytes = new Option<double?>("--bytes-per-second") { Description = "Bytes of event bodies per second (set only)." };
        var command = new Command(verb, description) { agent, group, source };
        if (verb == "set")
        {
            command.Options.Add(events);
            command.Options.Add(bytes);
        }
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            var agentId = parse.GetValue(agent);
            var groupName = parse.GetValue(group);
            if (agentId is not null && groupName is not null)
            {
                errors.Add("give --agent or --group, not both");
            }
            if (verb != "get" && agentId is null && groupName is null)
            {
                errors.Add("give --agent ID or --group NAME");
            }
            var eventsPerSecond = parse.GetValue(events);
            var bytesPerSecond = parse.GetValue(bytes);
            if (verb == "set" && eventsPerSecond is null && bytesPerSecond is null)
            {
                errors.Add("give --events-per-second and/or --bytes-per-second");
            }
            if (eventsPerSecond is <= 0 || bytesPerSecond is <= 0)
            {
                errors.Add("rates must be positive (use clear to remove a limit)");
            }
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("limits " + verb, errors);
            }
            try
            {
                await using var client = await ServiceCliOptions.ConnectAsync(options, cancellation);
                if (agentId is null && groupName is null)
                {
                    return await PrintAllAsync(client, cancellation);
                }
                var path = agentId is not null ? ZnodeLayout.AgentLimits(agentId) : ZnodeLayout.GroupLimits(groupName!);
                var (current, version) = await ReadAsync(client, path, cancellation);
                if (current is null)
                {
                    await Console.Error.WriteLineAsync($"zooflow limits: {path} is not valid limits JSON; fix it with set or clear");
                    if (verb == "get")
                    {
                        return 1;
                    }
                    current = FlowLimits.None;
                }
                var sourceName = parse.GetValue(source);
                FlowLimits next;
                switch (verb)
                {
                    case "get":
                        await Console.Out.WriteLineAsync($"{path}: {current.ToJson()}");
                        return 0;
                    case "set":
                        var rate = new RateLimit(eventsPerSecond, bytesPerSecond);
                        next = sourceName is null
                            ? current with { Total = rate }
                            : current with { Sources = new Dictionary<string, RateLimit>(current.Sources, StringComparer.Ordinal) { [sourceName] = rate } };
                        break;
                    default:
                        if (sourceName is null)
                        {
                            if (version >= 0)
                            {
                                await client.DeleteAsync(path, version, cancellation);
                            }
                            await Console.Out.WriteLineAsync($"{path}: cleared");
                            return 0;
                        }
                        var sources = new Dictionary<string, RateLimit>(current.Sources, StringComparer.Ordinal);
                        sources.Remove(sourceName);
                        next = current with { Sources = sources };
                        break;
                }
                var data = Encoding.UTF8.GetBytes(next.ToJson());
                if (version < 0)
                {
                    await client.EnsurePathAsync(path[..path.LastIndexOf('/')], cancellation);
                    await client.CreateAsync(path, data, cancellationToken: cancellation);
                }
                else
                {
                    await client.SetDataAsync(path, data, version, cancellation);
                }
                await Console.Out.WriteLineAsync($"{path}: {next.ToJson()}");
                return 0;
            }
            catch (Exception ex) when (ex is KeeperException or TimeoutException)
            {
                await Console.Error.WriteLineAsync($"zooflow limits {verb}: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    private static async Task<(FlowLimits? Limits, int Version)> ReadAsync(ZooKeeperClient client, string path, CancellationToken cancellationToken)
    {
        try
        {
            var (data, stat) = await client.GetDataAsync(path, cancellationToken: cancellationToken);
            return (FlowLimits.Parse(data, path, []), stat.Version);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return (FlowLimits.None, -1);
        }
    }

    private static async Task<int> PrintAllAsync(ZooKeeperClient client, CancellationToken cancellationToken)
    {
        foreach (var (kind, parent) in new[] { ("agents", ZnodeLayout.Root + "/limits/agents"), ("groups", ZnodeLayout.Root + "/limits/groups") })
        {
            IReadOnlyList<string> children;
            try
            {
                children = await client.GetChildrenAsync(parent, cancellationToken: cancellationToken);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
            {
                continue;
            }
            foreach (var child in children.Order(StringComparer.Ordinal))
            {
                var path = ZkPaths.Join(parent, child);
                var (data, _) = await client.GetDataAsync(path, cancellationToken: cancellationToken);
                await Console.Out.WriteLineAsync($"{kind}/{child}: {Encoding.UTF8.GetString(data)}");
            }
        }
        return 0;
    }
}
