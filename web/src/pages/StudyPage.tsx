// One study for oversight: what it is, its image, the decision, and its timeline from the audit trail
// (roles adjudicator, ml-engineer, admin; a reader sees the reads the API shows them instead).
import { useState } from 'react';

import type { AuditEntry, StudyView } from '../api/types.js';
import { useSession } from '../auth/SessionContext.js';
import { BoxesPanel } from '../components/BoxesPanel.js';
import { DecisionPanel } from '../components/DecisionPanel.js';
import { ImageViewer } from '../components/ImageViewer.js';
import { Timeline } from '../components/Timeline.js';
import { ErrorBox, Facts, Loading, PageHeader, StatusBadge } from '../components/ui.js';
import { useApi, useObjectUrl } from '../hooks/useApi.js';
import { describeDicomWindow, useDicomWindow } from '../hooks/useDicomWindow.js';
import { boxesOf, toggleClass, visibleBoxes } from '../lib/boxes.js';
import { dateTime } from '../lib/format.js';
import { modalityName } from '../lib/labels.js';

const enc = encodeURIComponent;
const AUDIT_ROLES = ['adjudicator', 'ml-engineer', 'admin'];

export function StudyPage({ id }: { id: string }) {
  const { session } = useSession();
  const mayAudit = AUDIT_ROLES.includes(session?.user.role ?? '');
  const study = useApi((api, signal) => api.get<StudyView>(`/v1/studies/${enc(id)}`, undefined, signal), [id]);
  const audit = useApi((api, signal) => api.get<{ entries: AuditEntry[] }>(`/v1/studies/${enc(id)}/audit`, undefined, signal), [id], { enabled: mayAudit });
  const image = useObjectUrl(`/v1/studies/${enc(id)}/image`);
  const dicomWindow = useDicomWindow(id);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const s = study.data;
  if (!s) return study.error ? <ErrorBox error={study.error} /> : <Loading what="Loading the study" />;
  const boxes = s.blinded ? [] : boxesOf(s.reads.model);
  return (
    <>
      <PageHeader title={`Study ${s.id}`} />
      <div className="read-layout">
        <ImageViewer
          src={image.url}
          label={`${modalityName(s.modality)} of study ${s.id}`}
          sourceWindow={dicomWindow && describeDicomWindow(dicomWindow)}
          boxes={visibleBoxes(boxes, hidden)}
        />
        <aside className="read-side" aria-label="Study">
          <Facts
            items={[
              ['Status', <StatusBadge key="s" status={s.status} />],
              ['Modality', modalityName(s.modality)],
              ['Priority', s.priority ? 'priority' : 'routine'],
              ['Source', s.source + (s.datasetVersion ? ` (dataset ${s.datasetVersion})` : '')],
              ['Received', dateTime(s.createdAt)],
              ['Model', s.model ? `${s.model.name} v${s.model.version}` : s.model === null ? 'no model read' : '—'],
            ]}
          />
          {s.blinded && <p className="muted">The model's read is shown once read A is committed.</p>}
          <DecisionPanel study={s} />
          <BoxesPanel study={s} boxes={boxes} hidden={hidden} onToggle={(c) => setHidden((h) => toggleClass(h, c))} />
        </aside>
      </div>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        {mayAudit ? (
          <>
            <ErrorBox error={audit.error} />
            {audit.data ? <Timeline entries={audit.data.entries} /> : !audit.error && <Loading what="Loading the audit trail" />}
          </>
        ) : (
          <ol className="timeline" data-testid="timeline">
            <li>Taken in {dateTime(s.createdAt)}</li>
            {s.reads.A && <li>Read A at {dateTime(s.reads.A.at)}</li>}
            {s.reads.B && <li>Read B at {dateTime(s.reads.B.at)}</li>}
            {s.finalizedAt && <li>Finalized {dateTime(s.finalizedAt)}</li>}
          </ol>
        )}
      </section>
    </>
  );
}
