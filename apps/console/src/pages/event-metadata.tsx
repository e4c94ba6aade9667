import { api, segment } from '../api';
import { link } from '../router';
import type { Addressee as Recipient, ApiKey, EventMetadata, Page, Source } from '@herald/client';
import { Time, useLoad } from '../ui';
import { CorrelationLink } from './activity';

// `to` holds up to 1,000 entries: the first few say who it was for.
const RECIPIENTS_SHOWN = 20;

/** An event's `to`: subscribers (linked to their profiles) and topics. */
export function Recipients({ to }: { to: Recipient[] }) {
  if (to.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="recipients">
      {to.slice(0, RECIPIENTS_SHOWN).map((r, i) => (
        <li key={i}>
          {'topic' in r ? (
            <>
              topic <strong>{r.topic}</strong>
            </>
          ) : (
            <>
              <a href={link(['subscribers', r.subscriberId])}>{r.subscriberId}</a>
              {[r.email, r.phone].filter(Boolean).length > 0 && (
                <span class="muted"> ({[r.email, r.phone].filter(Boolean).join(', ')})</span>
              )}
            </>
          )}
        </li>
      ))}
      {to.length > RECIPIENTS_SHOWN && <li class="muted">and {to.length - RECIPIENTS_SHOWN} more</li>}
    </ul>
  );
}

/** When the event happened and reached Herald, who sent it, how to find its kin, and its CloudEvent identity. */
export function EventMetadataView({ metadata }: { metadata: EventMetadata }) {
  const ce = metadata.cloudEvent;
  return (
    <section aria-labelledby="metadata-title">
      <h2 id="metadata-title">Metadata</h2>
      <dl class="facts" data-testid="event-metadata">
        <dt>Occurred</dt>
        <dd>
          <Time value={metadata.occurredAt} />
        </dd>
        <dt>Received</dt>
        <dd>
          <Time value={metadata.receivedAt} />
        </dd>
        <dt>Correlation id</dt>
        <dd>
          {metadata.correlationId ? <CorrelationLink id={metadata.correlationId} /> : <span class="muted">none</span>}
        </dd>
        <dt>Schema version</dt>
        <dd>{metadata.schemaVersion ?? <span class="muted">none (no schema for this type when it arrived)</span>}</dd>
        <dt>Sent by</dt>
        <dd>
          <SentBy sentBy={metadata.sentBy} />
        </dd>
        {ce && (
          <>
            <dt>CloudEvent source</dt>
            <dd>
              <code>{ce.source}</code>
            </dd>
            <dt>CloudEvent id</dt>
            <dd>
              <code>{ce.id}</code>
            </dd>
            {ce.subject !== undefined && (
              <>
                <dt>CloudEvent subject</dt>
                <dd>
                  <code>{ce.subject}</code>
                </dd>
              </>
            )}
            {ce.dataschema !== undefined && (
              <>
                <dt>CloudEvent data schema</dt>
                <dd>
                  <code>{ce.dataschema}</code>
                </dd>
              </>
            )}
            {ce.extensions && Object.keys(ce.extensions).length > 0 && (
              <>
                <dt>CloudEvent extensions</dt>
                <dd>
                  {Object.entries(ce.extensions).map(([name, value]) => (
                    <div key={name}>
                      <code>
                        {name}={typeof value === 'string' ? value : JSON.stringify(value)}
                      </code>
                    </div>
                  ))}
                </dd>
              </>
            )}
          </>
        )}
      </dl>
    </section>
  );
}

/** The key or source that sent the event, by the name an operator knows it by (its prefix, its name). */
function SentBy({ sentBy }: { sentBy?: EventMetadata['sentBy'] }) {
  const id = sentBy && ('keyId' in sentBy ? sentBy.keyId : sentBy.sourceId);
  const named = useLoad(async () => {
    if (!sentBy) return undefined;
    if ('keyId' in sentBy) {
      const keys = await api<Page<ApiKey>>('GET', '/v1/keys');
      const key = keys.items.find((k) => k.id === sentBy.keyId);
      return key && `${key.scope} key ${key.prefix}…${key.revokedAt ? ' (revoked)' : ''}`;
    }
    const source = await api<Source>('GET', `/v1/sources/${segment(sentBy.sourceId)}`);
    return `source ${source.name}`;
  }, [id]);
  if (!sentBy) return <span class="muted">unknown (stored before Herald kept it)</span>;
  const kind = 'keyId' in sentBy ? 'key' : 'source';
  // The id alone when the key or source cannot be named (deleted, or the look-up failed).
  return (
    <span title={`${kind} ${id}`}>
      {named.data ?? (
        <>
          {kind} <code>{id}</code>
        </>
      )}
    </span>
  );
}
