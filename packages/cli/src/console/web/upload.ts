/**
 * Sends a build to the console's server and follows its registration. XMLHttpRequest rather than
 * fetch: it is what reports upload progress, and the file is streamed from disk by the browser
 * (never read into memory by the page). Then the server's job is polled through its phases.
 */
import { ApiError, api, seg, type Registration } from './api.js';

export type UploadPhase = 'sending' | 'hashing' | 'uploading' | 'registering' | 'registered' | 'failed';

export interface UploadJob {
  readonly jobId: string;
  readonly phase: UploadPhase;
  readonly size: number;
  readonly sent: number;
  readonly parts?: number;
  readonly registration?: Registration;
  readonly alreadyRegistered?: boolean;
  readonly error?: string;
}

export interface UploadOptions {
  readonly appId: string;
  readonly version: string;
  readonly file: File;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
  readonly onProgress: (job: Pick<UploadJob, 'phase' | 'sent' | 'size'>, text: string) => void;
}

const PHASE_TEXT: Readonly<Record<string, string>> = {
  hashing: 'hashing the build (SHA-256) and checking the version',
  registering: 'uploaded; waiting for the service to hash and register the build',
};

export async function uploadBuild(options: UploadOptions): Promise<UploadJob> {
  const size = options.file.size;
  const query = new URLSearchParams({ version: options.version });
  if (options.expireAfterSeconds !== undefined) query.set('expireAfterSeconds', String(options.expireAfterSeconds));
  if (options.note !== undefined) query.set('note', options.note);

  const accepted = await new Promise<UploadJob>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/console/apps/${seg(options.appId)}/builds?${query}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      const sent = e.lengthComputable ? e.loaded : 0;
      options.onProgress({ phase: 'sending', sent, size }, `sending to the console: ${Math.floor((sent * 100) / Math.max(size, 1))}%`);
    };
    xhr.onload = () => {
      let body: { message?: string; field?: string } & Partial<UploadJob> = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // The guard's 403 page is not JSON.
      }
      if (xhr.status === 202) resolve(body as UploadJob);
      else reject(new ApiError(xhr.status, body.message ?? `the console refused the build (HTTP ${xhr.status})`, body.field));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the console did not answer: is `attestor console` still running?'));
    xhr.send(options.file);
  });

  let job = accepted;
  for (;;) {
    if (job.phase === 'registered' || job.phase === 'failed') return job;
    const parts = job.parts && job.parts > 1 ? ` (${job.parts} parts)` : '';
    const percent = Math.floor((job.sent * 100) / Math.max(size, 1));
    const text = job.phase === 'uploading' ? `uploading to storage${parts}: ${percent}%` : (PHASE_TEXT[job.phase] ?? job.phase);
    options.onProgress(job, text);
    await new Promise((resolve) => setTimeout(resolve, 250));
    job = await api<UploadJob>('GET', `/console/jobs/${seg(accepted.jobId)}`);
  }
}
