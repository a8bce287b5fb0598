// ?firstFrame=N (end-to-end tests): records in window.__firstListFrame, at the first animation
// frame in which the friends list holds N avatars, what each of them shows. Installed by main.tsx
// before the cache opens, so the frame it finds is the list's first: a check that needs no script
// injected before the page's own, and so runs under plain WebDriver (Firefox, WebKitGTK) too.

export interface FirstFrameAvatar {
  user: string;
  tag: string;
  src: string;
  state: string;
}

export interface FirstListFrame {
  /** ms since navigation start. */
  at: number;
  shown: FirstFrameAvatar[];
}

declare global {
  interface Window {
    __firstListFrame?: FirstListFrame;
  }
}

export function recordFirstListFrame(expected: number): void {
  const check = () => {
    const items = document.querySelectorAll<HTMLElement>('[data-testid="friends"] [data-avatar-user]');
    if (items.length >= expected) {
      window.__firstListFrame = {
        at: performance.now(),
        shown: [...items].map((el) => ({
          user: el.dataset.avatarUser ?? "",
          tag: el.tagName,
          src: el.getAttribute("src") ?? "",
          state: el.dataset.avatarState ?? "",
        })),
      };
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}
