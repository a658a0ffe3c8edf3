// Reading one study. Reader A sees the image only (the API blinds the model's read until A commits);
// after the commit the answer carries the model's read and the decision, shown at once.
// Adjudicator B sees A's read, the model's probabilities and the saliency overlay, and commits the
// final label. Either way the page renders exactly the StudyView the API returned. The detector's boxes
// (part of the model read, so absent while blinded) are drawn on the image, toggled per class, and B marks
// each one correct or incorrect.
import { useEffect, useState } from 'react';

import { ApiError } from '../api/client.js';
import type { StudyView, WorklistResponse } from '../api/types.js';
import { useSession } from '../auth/SessionContext.js';
import { BoxesPanel } from '../components/BoxesPanel.js';
import { DecisionPanel, ModelProbabilities, reasonText } from '../components/DecisionPanel.js';
import { ImageViewer } from '../components/ImageViewer.js';
import { LabelPicker } from '../components/LabelPicker.js';
import { Badge, ErrorBox, Facts, Link, Loading, PageHeader, StatusBadge } from '../components/ui.js';
import { useApi, useObjectUrl } from '../hooks/useApi.js';
import { describeDicomWindow, useDicomWindow } from '../hooks/useDicomWindow.js';
import { boxesOf, toggleClass, visibleBoxes } from '../lib/boxes.js';
import { className, dateTime } from '../lib/format.js';
import { labelsFor, modalityName } from '../lib/labels.js';
import { hrefFor, navigate } from '../router.js';

const enc = encodeURIComponent;

export function ReadPage({ id, as }: { id: string; as: 'A' | 'B' }) {
  const { api, session } = useSession();
  // Only a reader commits read A and only an adjudicator read B (admins may look, the API refuses their reads).
  const mayRead = session?.user.role === (as === 'A' ? 'reader' : 'adjudicator');
  const loaded = useApi((a, signal) => a.get<StudyView>(`/v1/studies/${enc(id)}`, undefined, signal), [id]);
  const [study, setStudy] = useState<StudyView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const image = useObjectUrl(`/v1/studies/${enc(id)}/image`);
  const dicomWindow = useDicomWindow(id);
  const [saliencyOn, setSaliencyOn] = useState(false);
  const [saliencyClass, setSaliencyClass] = useState<string>('');
  const [opacity, setOpacity] = useState(0.6);
  const [committed, setCommitted] = useState(false);
  const [hiddenClasses, setHiddenClasses] = useState<ReadonlySet<string>>(new Set());
  const [marking, setMarking] = useState<number | null>(null);

  useEffect(() => {
    setStudy(loaded.data);
    setError(null);
  }, [loaded.data]);
  useEffect(() => {
    setSaliencyOn(false);
    setSaliencyClass('');
    setCommitted(false);
    setHiddenClasses(new Set());
  }, [id]);
  // After a commit, move focus to the decision the answer revealed (screen readers announce it).
  useEffect(() => {
    if (committed) document.getElementById('decision-title')?.focus();
  }, [committed, study]);

  const awaiting = as === 'A' ? 'awaiting_a' : 'awaiting_b';
  const canRead = study?.status === awaiting && mayRead;
  // Saliency is fetched only when asked for (it is computed on the server) and never for a blinded view.
  const topClass = study?.reads.model?.top.class ?? '';
  const cls = saliencyClass || topClass;
  const saliency = useObjectUrl(saliencyOn && study && !study.blinded ? `/v1/studies/${enc(id)}/saliency` : null, cls ? { class: cls } : undefined);

  const commit = async (label: string) => {
    setBusy(true);
    setError(null);
    try {
      setStudy(await api.post<StudyView>(`/v1/studies/${enc(id)}/reads`, { label }));
      setCommitted(true);
    } catch (err) {
      setError(err);
      // Someone else read it first (409): show the study as it is now.
      if (err instanceof ApiError && err.code === 'illegal_transition') loaded.reload();
    } finally {
      setBusy(false);
    }
  };

  const mark = async (index: number, correct: boolean) => {
    setMarking(index);
    setError(null);
    try {
      setStudy(await api.json<StudyView>('PUT', `/v1/studies/${enc(id)}/boxes/${index}/mark`, { json: { correct } }));
    } catch (err) {
      setError(err);
    } finally {
      setMarking(null);
    }
  };

  const next = async () => {
    try {
      const wl = await api.get<WorklistResponse>(`/v1/worklists/${as}`, { limit: 2 });
      const n = wl.items.find((it) => it.id !== id);
      navigate(n ? hrefFor(as === 'A' ? { page: 'read', id: n.id } : { page: 'adjudicate', id: n.id }) : as === 'A' ? '/worklist' : '/adjudication');
    } catch (err) {
      setError(err);
    }
  };

  if (!study) return loaded.error ? <ErrorBox error={loaded.error} /> : <Loading what="Loading the study" />;
  const listHref = as === 'A' ? '/worklist' : '/adjudication';
  const boxes = study.blinded ? [] : boxesOf(study.reads.model);
  const mayMark = as === 'B' && mayRead && (study.status === 'awaiting_b' || study.status === 'adjudicated');
  return (
    <>
      <PageHeader title={`${as === 'A' ? 'Read' : 'Adjudicate'} study ${study.id}`}>
        <Link href={listHref} className="button">
          Back to the {as === 'A' ? 'worklist' : 'queue'}
        </Link>
        <button type="button" onClick={() => void next()} data-testid="next-study">
          Next study
        </button>
      </PageHeader>
      <div className="read-layout">
        <ImageViewer
          src={image.url}
          label={`${modalityName(study.modality)} of study ${study.id}`}
          overlaySrc={saliency.url}
          overlayVisible={saliencyOn}
          overlayOpacity={opacity}
          sourceWindow={dicomWindow && describeDicomWindow(dicomWindow)}
          boxes={visibleBoxes(boxes, hiddenClasses)}
        />
        <aside className="read-side" aria-label="Study and read">
          <Facts
            items={[
              ['Modality', modalityName(study.modality)],
              ['Priority', study.priority ? 'priority' : 'routine'],
              ['Received', dateTime(study.createdAt)],
              ['Status', <StatusBadge key="s" status={study.status} />],
            ]}
          />
          <ErrorBox error={image.error} />
          {as === 'B' && !study.blinded && (
            <section className="panel" aria-labelledby="b-context">
              <h2 id="b-context">Reader A and the model</h2>
              <p data-testid="read-a">Reader A: {study.reads.A ? <strong>{`${className(study.reads.A.label)} (${study.reads.A.label})`}</strong> : '—'}</p>
              {study.decision && (
                <p>
                  Sent to B because: {study.decision.reasons.map(reasonText).join('; ') || '—'} {study.decision.qa && <Badge kind="qa">QA sample</Badge>}
                </p>
              )}
              <ModelProbabilities study={study} />
              <div className="saliency-controls">
                <button type="button" aria-pressed={saliencyOn} onClick={() => setSaliencyOn((x) => !x)} data-testid="saliency-toggle" id="saliency-toggle">
                  {saliencyOn ? 'Hide saliency' : 'Show saliency'}
                </button>
                <label>
                  Class{' '}
                  <select
                    value={cls}
                    onChange={(e) => setSaliencyClass(e.target.value)}
                    data-testid="saliency-class"
                    aria-label="Class the saliency map explains"
                  >
                    {(study.reads.model?.predictions.map((p) => p.class) ?? labelsFor(study.modality)).map((c) => (
                      <option key={c} value={c}>
                        {className(c)}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  Opacity{' '}
                  <input
                    type="range"
                    min={0}
                    max={1}
                    step={0.05}
                    value={opacity}
                    onChange={(e) => setOpacity(Number(e.target.value))}
                    aria-label="Saliency overlay opacity"
                  />
                </label>
                {saliencyOn && saliency.loading && <span className="muted">computing…</span>}
              </div>
              <ErrorBox error={saliencyOn ? saliency.error : null} />
            </section>
          )}
          <BoxesPanel
            study={study}
            boxes={boxes}
            hidden={hiddenClasses}
            onToggle={(c) => setHiddenClasses((h) => toggleClass(h, c))}
            onMark={mayMark ? (i, correct) => void mark(i, correct) : undefined}
            busyIndex={marking}
          />
          {canRead ? (
            <LabelPicker
              modality={study.modality}
              commitText={as === 'A' ? 'Commit read A' : 'Commit final label'}
              busy={busy}
              onCommit={(l) => void commit(l)}
            />
          ) : (
            <p className="muted" data-testid="read-closed">
              {study.status === awaiting && !mayRead
                ? `Only ${as === 'A' ? 'a reader' : 'an adjudicator'} commits read ${as}.`
                : study.status === 'awaiting_a'
                  ? 'This study awaits read A.'
                  : study.status === 'awaiting_b' && as === 'A'
                    ? 'Your read is in; the study went to reader B.'
                    : 'This study is closed for this read.'}
            </p>
          )}
          <ErrorBox error={error} testId="read-error" />
          <DecisionPanel study={study} probabilities={as !== 'B'} />
          <p>
            <Link href={hrefFor({ page: 'study', id: study.id })}>Study timeline</Link>
          </p>
        </aside>
      </div>
    </>
  );
}
