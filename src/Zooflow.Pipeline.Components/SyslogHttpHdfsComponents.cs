using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sinks.Hdfs;
using Zooflow.Pipeline.Components.Sources.Http;
using Zooflow.Pipeline.Components.Sources.Syslog;

namespace Zooflow.Pipeline.Components;

/// <summary>
/// The syslog sources, the HTTP source and the HDFS-style rolling sink of issue 8, under Flume's aliases and Java
/// class names.
/// </summary>
public static class SyslogHttpHdfsComponents
{
    /// <summary>Every type of this family.</summary>
    public static IEnumerable<ComponentType> All()
    {
        yield return new ComponentType(ComponentKind.Source, "syslogtcp",
            ["org.apache.flume.source.SyslogTcpSource"],
            static (name, context) => new SyslogTcpSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "syslogudp",
            ["org.apache.flume.source.SyslogUDPSource"],
            static (name, context) => new SyslogUdpSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "multiport_syslogtcp",
            ["org.apache.flume.source.MultiportSyslogTCPSource"],
            static (name, context) => new MultiportSyslogTcpSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "http",
            ["org.apache.flume.source.http.HTTPSource"],
            static (name, context) => new HttpSource(name, context));

        yield return new ComponentType(ComponentKind.Sink, "hdfs",
            ["org.apache.flume.sink.hdfs.HDFSEventSink"],
            static (name, context) => new HdfsEventSink(name, context));
    }
}
