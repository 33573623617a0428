using System.Text.RegularExpressions;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>Flume's <c>deletePolicy</c>.</summary>
public enum SpoolDeletePolicy
{
    /// <summary>Keep finished files (renamed with fileSuffix, or recorded in the tracker directory).</summary>
    Never,
    /// <summary>Delete a file as soon as it was read completely.</summary>
    Immediate,
}

/// <summary>Flume's <c>trackingPolicy</c>: how a finished file is recorded.</summary>
public enum SpoolTrackingPolicy
{
    /// <summary>Rename it to <c>&lt;name&gt;&lt;fileSuffix&gt;</c>.</summary>
    Rename,
    /// <summary>Leave it alone and create <c>&lt;trackerDir&gt;/&lt;relative path&gt;&lt;fileSuffix&gt;</c>.</summary>
    TrackerDir,
}

/// <summary>Flume's <c>consumeOrder</c>.</summary>
public enum SpoolConsumeOrder
{
    /// <summary>Oldest modification time first; ties by smaller file name.</summary>
    Oldest,
    /// <summary>Youngest modification time first; ties by smaller file name.</summary>
    Youngest,
    /// <summary>Any file.</summary>
    Random,
}

/// <summary>Flume's <c>deserializer</c>.</summary>
public enum SpoolDeserializerType
{
    /// <summary>One event per line (<see cref="LineSpoolDeserializer"/>).</summary>
    Line,
    /// <summary>One event per record of an Avro container file.</summary>
    Avro,
}

/// <summary>The validated settings of a spooling directory source (see <see cref="SpoolDirectorySource"/> for the keys).</summary>
/// <param name="SpoolDirectory">Absolute path of <c>spoolDir</c>.</param>
/// <param name="CompletedSuffix"><c>fileSuffix</c>.</param>
/// <param name="FailedSuffix"><c>failedSuffix</c> (Zooflow): set-aside files are renamed (or recorded) with it.</param>
/// <param name="DeletePolicy"><c>deletePolicy</c>.</param>
/// <param name="TrackingPolicy"><c>trackingPolicy</c>.</param>
/// <param name="TrackerDirectory">Absolute path of <c>trackerDir</c> (relative values are inside the spooling directory).</param>
/// <param name="FileHeader"><c>fileHeader</c>.</param>
/// <param name="FileHeaderKey"><c>fileHeaderKey</c>.</param>
/// <param name="BasenameHeader"><c>basenameHeader</c>.</param>
/// <param name="BasenameHeaderKey"><c>basenameHeaderKey</c>.</param>
/// <param name="IncludePattern"><c>includePattern</c>, anchored.</param>
/// <param name="IgnorePattern"><c>ignorePattern</c>, anchored.</param>
/// <param name="ConsumeOrder"><c>consumeOrder</c>.</param>
/// <param name="PollDelay"><c>pollDelay</c>.</param>
/// <param name="RecursiveDirectorySearch"><c>recursiveDirectorySearch</c>.</param>
/// <param name="BatchSize"><c>batchSize</c>.</param>
/// <param name="Deserializer"><c>deserializer</c>.</param>
/// <param name="InputCharset"><c>inputCharset</c>.</param>
/// <param name="OutputCharset"><c>deserializer.outputCharset</c>.</param>
/// <param name="DecodeErrorPolicy"><c>decodeErrorPolicy</c>.</param>
/// <param name="MaxLineLength"><c>deserializer.maxLineLength</c>.</param>
/// <param name="SchemaType"><c>deserializer.schemaType</c>.</param>
public sealed record SpoolDirectorySettings(
    string SpoolDirectory,
    string CompletedSuffix,
    string FailedSuffix,
    SpoolDeletePolicy DeletePolicy,
    SpoolTrackingPolicy TrackingPolicy,
    string TrackerDirectory,
    bool FileHeader,
    string FileHeaderKey,
    bool BasenameHeader,
    string BasenameHeaderKey,
    Regex IncludePattern,
    Regex IgnorePattern,
    SpoolConsumeOrder ConsumeOrder,
    TimeSpan PollDelay,
    bool RecursiveDirectorySearch,
    int BatchSize,
    SpoolDeserializerType Deserializer,
    string InputCharset,
    string OutputCharset,
    DecodeErrorPolicy DecodeErrorPolicy,
    int MaxLineLength,
    AvroSchemaType SchemaType);
