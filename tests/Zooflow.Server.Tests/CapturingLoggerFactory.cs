using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Zooflow.Server.Tests;

/// <summary>Collects every log line (event id + formatted message) so tests can assert on what the server reported.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    /// <summary>Waits until a line with <paramref name="eventId"/> was logged.</summary>
    public async Task<string> WaitForAsync(int eventId, TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            foreach (var line in Lines)
            {
                if (line.Id.Id == eventId)
                {
                    return line.Message;
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no log line with event id {eventId}; saw: {string.Join(" | ", Lines.Select(l => l.Message))}");
    }

    public int Count(int eventId) => Lines.Count(l => l.Id.Id == eventId);

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((eventId, logLevel, formatter(state, exception)));
    }
}
