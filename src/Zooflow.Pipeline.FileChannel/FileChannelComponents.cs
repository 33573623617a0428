using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>The component types of this library: the file channel, as <c>file</c> and Flume's class name.</summary>
public static class FileChannelComponents
{
    /// <summary>Every type, for <c>ComponentRegistry.CreateDefault(...)</c>.</summary>
    /// <param name="homeDirectory">The user's home for Flume's default directories (<c>~/.flume/file-channel/...</c>);
    /// the host's user profile when null.</param>
    public static IEnumerable<ComponentType> All(string? homeDirectory = null)
    {
        var home = homeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        yield return new ComponentType(ComponentKind.Channel, "file", ["org.apache.flume.channel.file.FileChannel"],
            (name, context) => new FileChannel(name, FileChannelOptions.FromContext(context, home), context.Counters.Channel(name), context.Clock,
                context.LoggerFactory.CreateLogger("Zooflow.Pipeline.FileChannel")));
    }
}
