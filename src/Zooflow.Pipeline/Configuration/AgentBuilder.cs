using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Sinks;

namespace Zooflow.Pipeline.Configuration;

/// <summary>
/// Validates one agent of a <see cref="FlumeConfiguration"/> in a single pass, collecting every error (key, location,
/// bad value, what is allowed), and creates the components (not started). Follows Flume's rules
/// (<c>FlumeConfiguration</c>, <c>AbstractConfigurationProvider</c>) but reports instead of silently dropping; with
/// <see cref="BuildSettings.Lenient"/> invalid components are left out of the plan as Flume does.
/// </summary>
public static class AgentBuilder
{
    /// <summary>Validates and builds agent <paramref name="agentName"/>.</summary>
    public static AgentBuildResult Build(FlumeConfiguration configuration, string agentName, ComponentRegistry registry, BuildSettings settings)
    {
        var run = new Run(configuration, agentName, registry, settings);
        return run.Execute();
    }

    private sealed class Run(FlumeConfiguration configuration, string agentName, ComponentRegistry registry, BuildSettings settings)
    {
        private readonly List<ConfigError> _errors = [.. configuration.Errors];
        private readonly List<ConfigError> _warnings = [];

        public AgentBuildResult Execute()
        {
            if (!configuration.Agents.TryGetValue(agentName, out var agent))
            {
                var others = configuration.Agents.Keys.ToArray();
                _errors.Add(new ConfigError(agentName, settings.ConfigName, others.Length == 0
                    ? $"agent '{agentName}' has no properties: the configuration is empty (expected {agentName}.sources, {agentName}.channels, {agentName}.sinks and their components)"
                    : $"agent '{agentName}' has no properties in this configuration (agents present: {string.Join(", ", others)}; start with -n set to one of them, or rename the keys to start with '{agentName}.')"));
                return Result(AgentPlan.Empty(agentName));
            }

            CheckLists(agent);
            foreach (var (key, value) in agent.InvalidKeys)
            {
                _errors.Add(new ConfigError(key, value.Location,
                    $"is not a valid key (allowed: {agentName}.sources|channels|sinks|sinkgroups = <names>, or {agentName}.<sources|channels|sinks|sinkgroups>.<name>.<key>)"));
            }

            var channels = BuildChannels(agent);
            CheckOwnedDirectories(channels);
            var sources = BuildSources(agent, channels);
            var sinks = BuildSinks(agent, channels);
            var groups = BuildGroups(agent, sinks);

            var validChannels = channels.Where(c => c.Value.Valid).Select(c => c.Value.Plan!).ToList();
            var validSources = sources.Where(s => s.Valid).Select(s => s.Plan!).ToList();
            var validSinks = sinks.Where(s => s.Value.Valid).Select(s => s.Value.Plan!).ToList();

            foreach (var channel in _errors.Count > 0 ? [] : validChannels)
            {
                if (!validSources.Any(s => s.Channels.Contains(channel.Name)) && !validSinks.Any(s => s.Channel == channel.Name))
                {
                    _warnings.Add(new ConfigError(channel.Section.Prefix.TrimEnd('.'), channel.Section.Location,
                        $"channel '{channel.Name}' has no source or sink connected to it (Flume removes such a channel)"));
                }
            }
            if (validSources.Count == 0 && validSinks.Count == 0 && (agent.Lists.ContainsKey(SectionKind.Sources) || agent.Lists.ContainsKey(SectionKind.Sinks)))
            {
                _errors.Add(new ConfigError(agentName, FirstLocation(agent),
                    $"agent '{agentName}' has no valid source and no valid sink, so nothing would flow (Flume marks such an agent invalid)"));
            }

            var plan = new AgentPlan(agentName, validChannels, validSources, validSinks, groups);
            return Result(plan);
        }

        private AgentBuildResult Result(AgentPlan plan) => new(plan, _errors, _warnings);

        private string FirstLocation(AgentConfiguration agent)
        {
            foreach (var list in agent.Lists.Values)
            {
                return list.Location;
            }
            foreach (var section in agent.Sections.Values)
            {
                foreach (var c in section.Values)
                {
                    return c.Location;
                }
            }
            return settings.ConfigName;
        }

        /// <summary>The channels list is required, and at least one of sources/sinks. When they are missing, name the
        /// other agents that do have lists and the components configured under this one (the classic mix-up of
        /// <c>agent1.sources = r1</c> with <c>a1.sources.r1.type = ...</c>).</summary>
        private void CheckLists(AgentConfiguration agent)
        {
            var missing = new List<string>();
            if (!agent.Lists.ContainsKey(SectionKind.Sources) && !agent.Lists.ContainsKey(SectionKind.Sinks))
            {
                missing.Add("sources");
            }
            if (!agent.Lists.ContainsKey(SectionKind.Channels))
            {
                missing.Add("channels");
            }
            if (!agent.Lists.ContainsKey(SectionKind.Sinks) && !agent.Lists.ContainsKey(SectionKind.Sources))
            {
                missing.Add("sinks");
            }
            if (missing.Count == 0)
            {
                return;
            }
            var message = new System.Text.StringBuilder();
            message.Append($"agent '{agentName}' has no {string.Join("/", missing)} list{(missing.Count > 1 ? "s" : "")} ");
            message.Append($"(expected e.g. {agentName}.{missing[0]} = <names>), so Flume would run nothing");
            var withLists = configuration.Agents.Values.Where(a => a.Name != agentName && a.Lists.Count > 0).ToList();
            if (withLists.Count > 0)
            {
                message.Append("; lists exist for agent").Append(withLists.Count > 1 ? "s " : " ");
                message.Append(string.Join(", ", withLists.Select(a =>
                    $"{a.Name} ({string.Join(", ", a.Lists.Select(l => $"{a.Name}.{AgentConfiguration.Segment(l.Key)} = {l.Value.Value} at {l.Value.Location}"))}"
                    + (a.Sections.Count == 0 ? "; no component properties under " + a.Name : "") + ")")));
            }
            var configured = agent.Sections.Where(s => s.Value.Count > 0).ToList();
            if (configured.Count > 0)
            {
                message.Append($"; properties exist for {agentName} (");
                message.Append(string.Join(", ", configured.Select(s => $"{AgentConfiguration.Segment(s.Key)} {string.Join(" ", s.Value.Keys)}")));
                message.Append(')');
                var suggestion = configured.Where(s => !agent.Lists.ContainsKey(s.Key))
                    .Select(s => $"{agentName}.{AgentConfiguration.Segment(s.Key)} = {string.Join(" ", s.Value.Keys)}").ToList();
                if (suggestion.Count > 0)
                {
                    message.Append($"; add {string.Join(", ", suggestion)}");
                    if (withLists.Count > 0)
                    {
                        message.Append($", or rename the {agentName}.* keys to {withLists[0].Name}.* and run with -n {withLists[0].Name}");
                    }
                }
            }
            var key = $"{agentName}.{missing[0]}";
            _errors.Add(new ConfigError(key, FirstLocation(agent), message.ToString()));
        }

        /// <summary>The names to build for a section: the list when present; otherwise (the list is missing, already
        /// reported) the configured components, so that their own problems are reported in the same pass.</summary>
        private IReadOnlyList<string> Names(AgentConfiguration agent, SectionKind kind)
        {
            var configured = agent.Configured(kind);
            if (!agent.Lists.TryGetValue(kind, out var list))
            {
                return configured.Keys.ToList();
            }
            var listed = agent.Listed(kind);
            foreach (var (name, section) in configured)
            {
                if (!listed.Contains(name))
                {
                    _warnings.Add(new ConfigError(section.Prefix + "*", section.Location,
                        $"{Singular(kind)} '{name}' is configured but not listed in {agentName}.{AgentConfiguration.Segment(kind)} = {list.Value} at {list.Location}, so it is ignored"));
                }
            }
            foreach (var name in listed)
            {
                if (!configured.ContainsKey(name))
                {
                    var prefix = $"{agentName}.{AgentConfiguration.Segment(kind)}.{name}.";
                    var allowed = kind == SectionKind.SinkGroups ? "" : $"; allowed types: {string.Join(", ", registry.AllowedNames(ToComponentKind(kind)))}";
                    _errors.Add(new ConfigError($"{agentName}.{AgentConfiguration.Segment(kind)}", list.Location,
                        $"lists {Singular(kind)} '{name}' but there is no {prefix}* property (at least {prefix}{(kind == SectionKind.SinkGroups ? "sinks" : "type")} is needed{allowed})"));
                }
            }
            return listed.Where(configured.ContainsKey).ToList();
        }

        private static string Singular(SectionKind kind) => kind switch
        {
            SectionKind.Sources => "source",
            SectionKind.Channels => "channel",
            SectionKind.Sinks => "sink",
            _ => "sink group",
        };

        private static ComponentKind ToComponentKind(SectionKind kind) => kind switch
        {
            SectionKind.Sources => ComponentKind.Source,
            SectionKind.Channels => ComponentKind.Channel,
            _ => ComponentKind.Sink,
        };

        private sealed class Built<T>(T? instance, ComponentType? type, Func<T>? factory, ComponentContext context, bool valid) where T : class
        {
            public T? Instance { get; } = instance;
            public ComponentType? Type { get; } = type;
            public Func<T>? Factory { get; } = factory;
            public ComponentContext Context { get; } = context;
            public bool Valid { get; } = valid && instance is not null;
        }

        private ComponentContext Context(string prefix, IReadOnlyDictionary<string, ConfigValue> properties, string location, List<ConfigError> errors, List<ConfigError>? warnings = null) =>
            new(prefix, properties, errors, settings.LoggerFactory) { Counters = settings.Counters, Clock = settings.Clock, DefaultLocation = location, Warnings = warnings };

        private Built<T> Create<T>(ComponentKind kind, string name, string prefix, IReadOnlyDictionary<string, ConfigValue> properties, string location) where T : class
        {
            var errors = new List<ConfigError>();
            var context = Context(prefix, properties, location, errors, _warnings);
            var kindName = kind.ToString().ToLowerInvariant();
            if (!properties.TryGetValue("type", out var typeValue))
            {
                errors.Add(new ConfigError(prefix + "type", location, $"is required: the {kindName} type of '{name}' (allowed: {string.Join(", ", registry.AllowedNames(kind))})"));
                _errors.AddRange(errors);
                return new Built<T>(null, null, null, context, false);
            }
            if (!registry.TryResolve(kind, typeValue.Value, out var type))
            {
                errors.Add(new ConfigError(prefix + "type", typeValue.Location,
                    $"'{typeValue.Value}' is not a known {kindName} type (allowed: {string.Join(", ", registry.AllowedNames(kind))}; Flume's Java class names for these are accepted too){Hint(kind, typeValue.Value)}"));
                if (typeValue.Value.Contains("kafka", StringComparison.OrdinalIgnoreCase))
                {
                    KafkaAdvice(prefix, properties, location);
                }
                _errors.AddRange(errors);
                return new Built<T>(null, null, null, context, false);
            }
            T? instance = null;
            try
            {
                instance = type.Create(name, context) as T;
                if (instance is null)
                {
                    errors.Add(new ConfigError(prefix + "type", typeValue.Location, $"'{typeValue.Value}' does not build a {kindName} (internal registration error)"));
                }
            }
            catch (Exception ex)
            {
                errors.Add(new ConfigError(prefix + "type", typeValue.Location, $"{kindName} '{name}' could not be configured: {ex.Message}"));
            }
            _errors.AddRange(errors);
            Func<T> factory = () => (T)type.Create(name, Context(prefix, properties, location, []));
            return new Built<T>(instance, type, factory, context, errors.Count == 0);
        }

        /// <summary>The Kafka mistakes Flume would not report (flume.md §3): its client only warns about unknown
        /// producer keys, so the intended settings silently do not apply.</summary>
        private void KafkaAdvice(string prefix, IReadOnlyDictionary<string, ConfigValue> properties, string location)
        {
            if (!properties.ContainsKey("kafka.bootstrap.servers"))
            {
                _warnings.Add(new ConfigError(prefix + "kafka.bootstrap.servers", location,
                    "is not set; Flume's Kafka components fail with \"Bootstrap Servers must be specified\" (allowed: host:port[,host:port...])"));
            }
            if (properties.TryGetValue("kafka.producer.required.acks", out var acks))
            {
                _warnings.Add(new ConfigError(prefix + "kafka.producer.required.acks", acks.Location,
                    $"'{acks.Value}': 'required.acks' is the old 0.8 producer name; the Kafka producer ignores it and keeps Flume's default acks=1 (allowed: kafka.producer.acks = 0, 1, -1 or all)"));
            }
            if (properties.TryGetValue("kafka.producer.partition.key", out var key))
            {
                _warnings.Add(new ConfigError(prefix + "kafka.producer.partition.key", key.Location,
                    $"'{key.Value}': 'partition.key' is not a Kafka producer property and is ignored (keyed partitioning in Flume comes from the event header 'key', e.g. a static interceptor, or from partitionIdHeader/defaultPartitionId)"));
            }
        }

        private static string Hint(ComponentKind kind, string typeName)
        {
            if (typeName.Contains("kafka", StringComparison.OrdinalIgnoreCase))
            {
                return $". Kafka {kind.ToString().ToLowerInvariant()}s come from Zooflow.Pipeline.Kafka (KafkaComponents.All(), registered by zooflow agent) under Flume's class names, e.g. org.apache.flume.sink.kafka.KafkaSink, org.apache.flume.source.kafka.KafkaSource, org.apache.flume.channel.kafka.KafkaChannel";
            }
            return "";
        }

        private sealed record ChannelState(ChannelPlan? Plan, bool Valid);

        /// <summary>Two channels (e.g. file channels) may not own the same directory: both would lock it, and their data
        /// files would mix. Reported on the later channel's key, naming the earlier one's key and location.</summary>
        private void CheckOwnedDirectories(Dictionary<string, ChannelState> channels)
        {
            var owners = new Dictionary<string, (ChannelPlan Plan, string Key)>(StringComparer.Ordinal);
            foreach (var state in channels.Values)
            {
                if (state.Plan?.Instance is not IDirectoryOwner owner)
                {
                    continue;
                }
                var plan = state.Plan;
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var directory in owner.OwnedDirectories)
                {
                    var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory.Path));
                    if (!seen.Add(path))
                    {
                        continue;
                    }
                    if (owners.TryGetValue(path, out var first))
                    {
                        var location = plan.Section.Properties.TryGetValue(directory.Key, out var v) ? v.Location : plan.Section.Location;
                        var firstLocation = first.Plan.Section.Properties.TryGetValue(first.Key, out var f) ? f.Location : $"default, {first.Plan.Section.Location}";
                        var written = plan.Section.Properties.ContainsKey(directory.Key) ? "" : " (the default)";
                        _errors.Add(new ConfigError(plan.Section.Prefix + directory.Key, location,
                            $"directory '{path}'{written} is also used by channel '{first.Plan.Name}' ({first.Plan.Section.Prefix}{first.Key} at {firstLocation}); two channels may not share directories (allowed: a directory of its own for each channel's checkpointDir, backupCheckpointDir and dataDirs)"));
                        continue;
                    }
                    owners[path] = (plan, directory.Key);
                }
            }
        }

        private Dictionary<string, ChannelState> BuildChannels(AgentConfiguration agent)
        {
            var result = new Dictionary<string, ChannelState>(StringComparer.Ordinal);
            var configured = agent.Configured(SectionKind.Channels);
            foreach (var name in Names(agent, SectionKind.Channels))
            {
                var section = configured[name];
                var built = Create<IChannel>(ComponentKind.Channel, name, section.Prefix, section.Properties, section.Location);
                result[name] = built.Valid
                    ? new ChannelState(new ChannelPlan(section, built.Type!, built.Instance!, built.Factory!), true)
                    : new ChannelState(null, false);
            }
            return result;
        }

        private sealed record SourceState(SourcePlan? Plan, bool Valid);

        private List<SourceState> BuildSources(AgentConfiguration agent, Dictionary<string, ChannelState> channels)
        {
            var result = new List<SourceState>();
            var configured = agent.Configured(SectionKind.Sources);
            var channelNames = ChannelNames(agent);
            foreach (var name in Names(agent, SectionKind.Sources))
            {
                var section = configured[name];
                var errorsBefore = _errors.Count;
                var built = Create<ISource>(ComponentKind.Source, name, section.Prefix, section.Properties, section.Location);
                var ctx = Context(section.Prefix, section.Properties, section.Location, _errors);
                var channelList = new List<string>();
                if (!section.Properties.TryGetValue("channels", out var channelsValue))
                {
                    ctx.AddError("channels", $"is required: the channels source '{name}' writes to (allowed: {Allowed(channelNames)})");
                }
                else
                {
                    foreach (var c in SelectorSettings.Split(channelsValue.Value))
                    {
                        if (!channelNames.Contains(c))
                        {
                            ctx.AddError("channels", $"refers to channel '{c}', which is not listed in {agentName}.channels (allowed: {Allowed(channelNames)})");
                        }
                        else if (!channelList.Contains(c))
                        {
                            channelList.Add(c);
                        }
                    }
                }
                var selector = SelectorSettings.FromContext(ctx, channelList);
                var interceptors = BuildInterceptors(ctx, section);
                var usable = channelList.Where(c => channels.TryGetValue(c, out var s) && s.Valid).ToList();
                CheckBatch(built.Instance, section, usable.Select(c => channels[c].Plan!));
                var valid = built.Valid && _errors.Count == errorsBefore;
                if (settings.Lenient && built.Valid && usable.Count > 0 && _errors.Count > errorsBefore)
                {
                    // Flume's drop-and-warn keeps a source whose only problem is a dropped channel.
                    valid = OnlyChannelProblems(errorsBefore, section.Prefix);
                }
                result.Add(valid && usable.Count > 0
                    ? new SourceState(new SourcePlan(section, built.Type!, built.Instance!, built.Factory!, usable, selector, interceptors), true)
                    : new SourceState(null, false));
            }
            return result;
        }

        private bool OnlyChannelProblems(int errorsBefore, string prefix)
        {
            for (var i = errorsBefore; i < _errors.Count; i++)
            {
                if (_errors[i].Key.StartsWith(prefix, StringComparison.Ordinal) && _errors[i].Key != prefix + "channels")
                {
                    return false;
                }
            }
            return true;
        }

        private static string Allowed(IReadOnlyCollection<string> names) => names.Count == 0 ? "none: the channels list is empty" : string.Join(", ", names);

        private static IReadOnlyList<string> ChannelNames(AgentConfiguration agent) =>
            agent.Lists.ContainsKey(SectionKind.Channels) ? agent.Listed(SectionKind.Channels) : agent.Configured(SectionKind.Channels).Keys.ToList();

        private List<IInterceptor> BuildInterceptors(ComponentContext source, ComponentSection section)
        {
            var list = new List<IInterceptor>();
            var names = source.GetString("interceptors");
            if (names is null)
            {
                return list;
            }
            foreach (var name in SelectorSettings.Split(names))
            {
                var prefix = $"interceptors.{name}.";
                var props = source.SubProperties(prefix);
                if (props.Count == 0)
                {
                    source.AddError("interceptors", $"lists interceptor '{name}' but there is no {section.Prefix}{prefix}type (allowed types: {string.Join(", ", registry.AllowedNames(ComponentKind.Interceptor))})");
                    continue;
                }
                var built = Create<IInterceptor>(ComponentKind.Interceptor, name, section.Prefix + prefix, props, props.Values.First().Location);
                if (built.Valid)
                {
                    list.Add(built.Instance!);
                }
            }
            return list;
        }

        private void CheckBatch(object? instance, ComponentSection section, IEnumerable<ChannelPlan> channels)
        {
            if (instance is not IBatchSized batched)
            {
                return;
            }
            foreach (var channel in channels)
            {
                if (channel.Instance is ITransactionCapacity tc && batched.BatchSize > tc.TransactionCapacity)
                {
                    var location = section.Properties.TryGetValue(batched.BatchSizeKey, out var v) ? v.Location : section.Location;
                    var capLocation = channel.Section.Properties.TryGetValue("transactionCapacity", out var cv) ? cv.Location : "default";
                    _errors.Add(new ConfigError(section.Prefix + batched.BatchSizeKey, location,
                        $"batch size {batched.BatchSize} is greater than the transactionCapacity {tc.TransactionCapacity} of channel '{channel.Name}' ({capLocation}) (allowed: <= {tc.TransactionCapacity}; raise {channel.Section.Prefix}transactionCapacity or lower the batch size)"));
                }
            }
        }

        private Dictionary<string, (SinkPlan? Plan, bool Valid)> BuildSinks(AgentConfiguration agent, Dictionary<string, ChannelState> channels)
        {
            var result = new Dictionary<string, (SinkPlan?, bool)>(StringComparer.Ordinal);
            var configured = agent.Configured(SectionKind.Sinks);
            var channelNames = ChannelNames(agent);
            foreach (var name in Names(agent, SectionKind.Sinks))
            {
                var section = configured[name];
                var errorsBefore = _errors.Count;
                var built = Create<ISink>(ComponentKind.Sink, name, section.Prefix, section.Properties, section.Location);
                var ctx = Context(section.Prefix, section.Properties, section.Location, _errors);
                string? channel = null;
                if (!section.Properties.TryGetValue("channel", out var channelValue))
                {
                    var hint = section.Properties.ContainsKey("channels") ? " (a sink uses the singular key 'channel'; 'channels' is for sources)" : "";
                    ctx.AddError("channel", $"is required: the one channel sink '{name}' drains (allowed: {Allowed(channelNames)}){hint}");
                }
                else
                {
                    var parts = SelectorSettings.Split(channelValue.Value);
                    if (parts.Count != 1)
                    {
                        ctx.AddError("channel", $"'{channelValue.Value}' names {parts.Count} channels but a sink drains exactly one (allowed: one of {Allowed(channelNames)})");
                    }
                    else if (!channelNames.Contains(parts[0]))
                    {
                        ctx.AddError("channel", $"refers to channel '{parts[0]}', which is not listed in {agentName}.channels (allowed: {Allowed(channelNames)})");
                    }
                    else
                    {
                        channel = parts[0];
                    }
                }
                var channelOk = channel is not null && channels.TryGetValue(channel, out var cs) && cs.Valid;
                if (channelOk)
                {
                    CheckBatch(built.Instance, section, [channels[channel!].Plan!]);
                }
                var valid = built.Valid && channelOk && _errors.Count == errorsBefore;
                result[name] = valid ? (new SinkPlan(section, built.Type!, built.Instance!, built.Factory!, channel!), true) : (null, false);
            }
            return result;
        }

        private List<SinkGroupPlan> BuildGroups(AgentConfiguration agent, Dictionary<string, (SinkPlan? Plan, bool Valid)> sinks)
        {
            var groups = new List<SinkGroupPlan>();
            var owner = new Dictionary<string, string>(StringComparer.Ordinal);
            var configured = agent.Configured(SectionKind.SinkGroups);
            var sinkNames = agent.Lists.ContainsKey(SectionKind.Sinks) ? agent.Listed(SectionKind.Sinks) : agent.Configured(SectionKind.Sinks).Keys.ToList();
            foreach (var name in Names(agent, SectionKind.SinkGroups))
            {
                var section = configured[name];
                var ctx = Context(section.Prefix, section.Properties, section.Location, _errors);
                var members = new List<string>();
                if (!section.Properties.TryGetValue("sinks", out var sinksValue))
                {
                    ctx.AddError("sinks", $"is required: the sinks of group '{name}' (allowed: {string.Join(", ", sinkNames)})");
                }
                else
                {
                    foreach (var s in SelectorSettings.Split(sinksValue.Value))
                    {
                        if (!sinkNames.Contains(s))
                        {
                            ctx.AddError("sinks", $"refers to sink '{s}', which is not listed in {agentName}.sinks (allowed: {string.Join(", ", sinkNames)})");
                        }
                        else if (owner.TryGetValue(s, out var other))
                        {
                            ctx.AddError("sinks", $"sink '{s}' is already in sink group '{other}' (a sink may belong to one group only)");
                        }
                        else
                        {
                            owner[s] = name;
                            members.Add(s);
                        }
                    }
                }
                var processor = SinkProcessorSettings.FromContext(ctx, members);
                var usable = members.Where(m => sinks.TryGetValue(m, out var s) && s.Valid).ToList();
                if (usable.Count > 0)
                {
                    groups.Add(new SinkGroupPlan(section, usable, processor));
                }
            }
            return groups;
        }
    }
}
