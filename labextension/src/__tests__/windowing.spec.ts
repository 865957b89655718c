import { requestAPI } from '../handler';
import { keepNearPages, pagesFor, visibleRange } from '../logic';
import { RunsModel } from '../model';
import { page } from './payloads';

jest.mock('../handler', () => ({ requestAPI: jest.fn() }));
const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

const ROW = 26;
const RUNS = 100_000;

function offsets(): string[] {
  return request.mock.calls.map(c => new URLSearchParams(c[0]!.split('?')[1]).get('offset') ?? '');
}

describe('windowing over 100,000 runs', () => {
  beforeEach(() => {
    request.mockReset();
    request.mockImplementation(async (endPoint = '') => {
      const query = new URLSearchParams(endPoint.split('?')[1]);
      return page(Number(query.get('offset')), Number(query.get('limit')), RUNS) as any;
    });
  });

  it('renders a screenful plus overscan wherever the table is scrolled', () => {
    for (const top of [0, ROW * 50_000, ROW * RUNS]) {
      const [start, end] = visibleRange(top, 600, ROW, RUNS);
      expect(end - start).toBeLessThanOrEqual(Math.ceil(600 / ROW) + 1 + 20);
      expect(end).toBeLessThanOrEqual(RUNS);
    }
    expect(visibleRange(ROW * RUNS, 600, ROW, RUNS)[1]).toBe(RUNS);
    expect(pagesFor(99_990, RUNS, 100)).toEqual([999]);
  });

  it('keeps the pages nearest the window and always the first', () => {
    const pages = new Map(Array.from({ length: 30 }, (_, i) => [i * 10, `p${i * 10}`] as [number, string]));
    const kept = keepNearPages(pages, 150, 150, 4);
    expect(Array.from(kept.keys()).sort((a, b) => a - b)).toEqual([0, 130, 140, 150, 160]); // ties: the lower page
    const few = new Map([[0, 'a'], [5, 'b']]);
    expect(keepNearPages(few, 5, 5, 4)).toBe(few);
  });

  it('fetches pages as the user scrolls, drops far ones, and refetches a page scrolled back to', async () => {
    const model = new RunsModel({ pageSize: 100, maxPages: 3 });
    await model.refresh();
    expect(model.total).toBe(RUNS);
    for (const top of [0, 10_000, 20_000, 50_000, 99_990]) {
      const [start, end] = visibleRange(top * ROW, 600, ROW, RUNS);
      await model.ensureRange(start, end);
      expect(model.rowAt(top)?.id).toBe(String(top));
    }
    expect(model.rowAt(10_000)).toBeUndefined(); // dropped: far from the bottom
    expect(model.rowAt(0)?.id).toBe('0'); // the first page stays
    const before = request.mock.calls.length;
    await model.refresh(); // the live refresh reloads only what is kept
    expect(request.mock.calls.length - before).toBeLessThanOrEqual(4);
    const [start, end] = visibleRange(10_000 * ROW, 600, ROW, RUNS);
    await model.ensureRange(start, end);
    expect(model.rowAt(10_000)?.id).toBe('10000');
    expect(offsets().filter(o => o === '9900').length).toBe(2); // fetched, dropped, fetched again
  });
});
