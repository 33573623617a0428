using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Configuration;

namespace Zooflow.Pipeline.Runtime;

/// <summary>A configuration text with where it came from; read by the host (CLI), never by this library.</summary>
/// <param name="Text">The properties text.</param>
/// <param name="Name">Names locations, e.g. <c>flume.conf</c>.</param>
/// <param name="Environment">Environment variables for <c>${NAME}</c> / <c>${env:NAME}</c>.</param>
/// <param name="SystemProperties">The <c>-Dkey=value</c> definitions for <c>${sys:NAME}</c>.</param>
public sealed record ConfigSource(string Text, string Name, IReadOnlyDictionary<string, string> Environment, IReadOnlyDictionary<string, string> SystemProperties);

/// <summary>Parse → substitute → split by agent → validate and build, in one call.</summary>
public static class AgentLoader
{
    /// <summary>Builds agent <paramref name="agentName"/> from <paramref name="source"/>, collecting every error.</summary>
    public static AgentBuildResult Load(ConfigSource source, string agentName, ComponentRegistry registry, BuildSettings settings)
    {
        var errors = new List<ConfigError>();
        var raw = PropertiesParser.Parse(source.Text, source.Name, errors);
        var properties = PropertySubstitution.Apply(raw, source.Environment, source.SystemProperties, errors);
        var configuration = FlumeConfiguration.Parse(properties);
        var result = AgentBuilder.Build(configuration with { Errors = [.. errors, .. configuration.Errors] }, agentName, registry, settings with { ConfigName = source.Name });
        return result;
    }
}

/// <summary>
/// Polls the configuration and applies changes to a running <see cref="AgentHost"/> (Flume's
/// <c>PollingPropertiesFileConfigurationProvider</c>, 30 s by default). A new configuration with errors is refused
/// in strict mode — every error is logged and the running agent is kept.
/// </summary>
public sealed class ConfigReloader(AgentHost host, Func<CancellationToken, Task<ConfigSource?>> readIfChanged, Func<ConfigSource, AgentBuildResult> build,
    bool lenient, TimeSpan interval, ILogger logger, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Reloads applied so far.</summary>
    public int Applied { get; private set; }

    /// <summary>Reloads refused because of errors.</summary>
    public int Refused { get; private set; }

    /// <summary>Raised after each poll that found a change (applied or refused); for tests and tooling.</summary>
    public event Action<AgentBuildResult, bool>? Reloaded;

    /// <summary>Polls until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _clock, cancellationToken).ConfigureAwait(false);
                await PollOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(new EventId(2701, "ReloadFailed"), ex, "Configuration reload failed; the running configuration is kept");
            }
        }
    }

    /// <summary>Checks once; returns true when a new configuration was applied.</summary>
    public async Task<bool> PollOnceAsync(CancellationToken cancellationToken)
    {
        var source = await readIfChanged(cancellationToken).ConfigureAwait(false);
        if (source is null)
        {
            return false;
        }
        var result = build(source);
        foreach (var warning in result.Warnings)
        {
            logger.LogWarning(new EventId(2702, "ConfigWarning"), "{Warning}", warning.ToString());
        }
        foreach (var error in result.Errors)
        {
            logger.LogError(new EventId(2703, "ConfigError"), "{Error}", error.ToString());
        }
        if (result.HasErrors && !lenient)
        {
            Refused++;
            logger.LogError(new EventId(2704, "ReloadRefused"), "{Source} changed but has {Count} errors; the running configuration is kept", source.Name, result.Errors.Count);
            Reloaded?.Invoke(result, false);
            return false;
        }
        await host.ApplyAsync(result.Plan, cancellationToken).ConfigureAwait(false);
        Applied++;
        logger.LogInformation(new EventId(2705, "Reloaded"), "{Source} changed; configuration applied", source.Name);
        Reloaded?.Invoke(result, true);
        return true;
    }
}
