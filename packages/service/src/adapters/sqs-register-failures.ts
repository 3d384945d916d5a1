/**
 * The RegisterFailures queue (the register function's on-failure destination) as the core's
 * RegisterFailureQueue. SQS has no "peek": messages are received, which hides them for a visibility
 * timeout, and what is only being looked at is made visible again at once. A retry invokes the
 * register function asynchronously with the event as S3 sent it, then deletes the message; if the
 * function fails again, Lambda's on-failure destination queues a new message.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { RegisterFailure, RegisterFailureQueue } from '../core/ports';
import { failureFromRecord } from './register-failure-record';

/** Long enough to list, invoke and delete what one request receives; short enough that a crash hides nothing for long. */
const HOLD_SECONDS = 30;
/** SQS's own maximum per ReceiveMessage. */
const BATCH = 10;
/** How far a retry or clear by id looks: a queue this long needs an operator's attention, not a search. */
const MAX_SCANNED = 1000;

interface Held {
  readonly message: Message;
  readonly parsed: ReturnType<typeof failureFromRecord>;
}

export class SqsRegisterFailures implements RegisterFailureQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly lambda: LambdaClient,
    private readonly queueUrl: string,
    /** Name or ARN of the register function. */
    private readonly registerFunction: string,
  ) {}

  async list(limit: number): Promise<RegisterFailure[]> {
    const held = await this.receive(limit);
    await this.release(held);
    return held.flatMap((h) => (h.parsed ? [h.parsed.failure] : []));
  }

  retry(ids: readonly string[] | undefined, limit: number): Promise<string[]> {
    return this.settle(ids, limit, async (h) => {
      if (!h.parsed) return;
      await this.lambda.send(
        new InvokeCommand({ FunctionName: this.registerFunction, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(h.parsed.event), 'utf8') }),
      );
    });
  }

  clear(ids: readonly string[] | undefined, limit: number): Promise<string[]> {
    return this.settle(ids, limit, async () => undefined);
  }

  /** Receives, acts on and deletes the chosen messages; the rest are released. A message is deleted only after its action succeeded. */
  private async settle(ids: readonly string[] | undefined, limit: number, act: (held: Held) => Promise<void>): Promise<string[]> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const held = await this.receive(wanted === undefined ? limit : MAX_SCANNED);
    const chosen = held.filter((h) => wanted === undefined || wanted.has(h.message.MessageId ?? ''));
    const done: string[] = [];
    try {
      for (const h of chosen) {
        await act(h);
        await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: h.message.ReceiptHandle }));
        done.push(h.message.MessageId ?? '');
      }
    } finally {
      await this.release(held.filter((h) => !done.includes(h.message.MessageId ?? ''))).catch(() => undefined);
    }
    return done;
  }

  /** Every message the queue gives, up to `limit`, each once (SQS may hand one out twice; kept by id). */
  private async receive(limit: number): Promise<Held[]> {
    const byId = new Map<string, Held>();
    while (byId.size < limit) {
      const { Messages: messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(BATCH, limit - byId.size),
          VisibilityTimeout: HOLD_SECONDS,
          WaitTimeSeconds: 0,
        }),
      );
      const fresh = messages.filter((m) => m.MessageId !== undefined && !byId.has(m.MessageId));
      if (fresh.length === 0) break;
      for (const message of fresh) byId.set(message.MessageId!, { message, parsed: failureFromRecord(message.MessageId!, message.Body ?? '') });
    }
    return [...byId.values()];
  }

  /** Makes messages visible again at once, ten per call (SQS's batch limit). */
  private async release(held: readonly Held[]): Promise<void> {
    for (let i = 0; i < held.length; i += BATCH) {
      const entries = held.slice(i, i + BATCH).map((h, n) => ({ Id: String(n), ReceiptHandle: h.message.ReceiptHandle, VisibilityTimeout: 0 }));
      await this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
    }
  }
}
