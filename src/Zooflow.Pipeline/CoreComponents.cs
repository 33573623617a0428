using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Interceptors;

namespace Zooflow.Pipeline;

/// <summary>The component types implemented in this library: the memory channel and Flume's interceptors.</summary>
public static class CoreComponents
{
    /// <summary>Every core type, with Flume's aliases and Java class names.</summary>
    public static IEnumerable<ComponentType> All()
    {
        yield return new ComponentType(ComponentKind.Channel, "memory", ["org.apache.flume.channel.MemoryChannel"],
            (name, ctx) => new MemoryChannel(name, MemoryChannelOptions.FromContext(ctx), ctx.Counters.Channel(name), ctx.Clock,
                ctx.LoggerFactory.CreateLogger("Zooflow.Pipeline.Channels.MemoryChannel")));
        yield return Interceptor("timestamp", "org.apache.flume.interceptor.TimestampInterceptor$Builder", TimestampInterceptor.Create);
        yield return Interceptor("host", "org.apache.flume.interceptor.HostInterceptor$Builder", HostInterceptor.Create);
        yield return Interceptor("static", "org.apache.flume.interceptor.StaticInterceptor$Builder", StaticInterceptor.Create);
        yield return Interceptor("remove_header", "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder", RemoveHeaderInterceptor.Create);
        yield return new ComponentType(ComponentKind.Interceptor, "uuid", ["org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder"], (_, ctx) => UuidInterceptor.Create(ctx));
        yield return Interceptor("regex_filter", "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder", RegexFilterInterceptor.Create);
        yield return Interceptor("regex_extractor", "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder", RegexExtractorInterceptor.Create);
        yield return Interceptor("search_replace", "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder", SearchReplaceInterceptor.Create);
    }

    private static ComponentType Interceptor(string alias, string javaClass, Func<ComponentContext, IInterceptor> create) =>
        new(ComponentKind.Interceptor, alias, [javaClass], (_, ctx) => create(ctx));
}
