namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// A source interceptor (Flume's <c>Interceptor</c>): inspects or changes events between the source and the channel
/// selector. Interceptors run in the order listed under <c>interceptors</c>; each gets the list the previous one
/// returned; an event is dropped by not returning it. Events are immutable: a changed event is a new instance.
/// </summary>
/// <remarks>Thread-safety: an interceptor may be called concurrently by the source's threads and must be stateless or
/// synchronise itself.</remarks>
public interface IInterceptor
{
    /// <summary>Returns the (possibly changed) event, or null to drop it.</summary>
    Event? Intercept(Event @event);
}
